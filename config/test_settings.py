"""Settings for the test suite: the real settings with test-only defaults.

The SQLite test database is a file, not memory, so the Celery worker and the
gateway that the end-to-end tests start as separate processes share it.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("EMBEDDED_REDIS_PORT", "6391")  # not the one `make run` uses

from config.settings import *  # noqa: F403
from config.settings import DATABASES, VAR_DIR

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-oms.sqlite3")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: tests make many users
