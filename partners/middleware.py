"""Referrer policy for the pages with logged-in forms (the admin and the partner pages).

The public pages send no referrer at all (Referrer-Policy: no-referrer). Under that policy browsers send
`Origin: null` with a form post, and Django's CSRF check then refuses every logged-in form, the admin login
included. On the admin and partner pages the policy is `same-origin`: our own pages still learn where a post
came from, and no other site ever receives a referrer. The public pages are unchanged.
"""

FORM_PAGES = ("/admin/", "/partners/")


class SameOriginReferrerForForms:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(FORM_PAGES):
            # SecurityMiddleware only sets the header when it is missing.
            response.headers["Referrer-Policy"] = "same-origin"
        return response
