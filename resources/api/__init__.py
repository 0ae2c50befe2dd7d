"""The HSDS 3.0 API under /api/ (Django REST framework), described with OpenAPI (drf-spectacular)."""
