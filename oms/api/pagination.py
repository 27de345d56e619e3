from rest_framework.pagination import LimitOffsetPagination

MAX_PAGE = 1000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """DRF's limit/offset pages with a ceiling on ``limit``: a larger one is cut to ``MAX_PAGE``.

    DRF sets none, so ``?limit=10**24`` reached the database as a LIMIT wider than
    a 64-bit integer and failed with a 500 (SQLite: "datatype mismatch";
    PostgreSQL: bigint out of range). A huge ``offset`` never reaches it: DRF
    answers an empty page once the offset passes the count.
    """

    max_limit = MAX_PAGE
    limit_query_description = f"Number of results to return per page (at most {MAX_PAGE}; more is cut to {MAX_PAGE})."
