"""The OMS's pure core: no Django, values in and decisions out."""
