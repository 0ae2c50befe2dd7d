"""Every page this app renders tells browsers and proxies to keep no copy of it.

A person on a shared phone may be found out by a cached page (the Back button after leaving, a browser's
offline copy, a shared proxy). Static files are answered earlier by WhiteNoise and keep their long cache
lifetimes: they say nothing about who looked at what.
"""


class NoStore:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The admin's never_cache already says "no-store" among other things; anything else is replaced.
        if "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "no-store"
        return response
