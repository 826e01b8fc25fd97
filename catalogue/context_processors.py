from django.conf import settings


def site(request):
    return {
        "catalogue_name": settings.CATALOGUE_NAME,
        "contact_email": settings.CATALOGUE_CONTACT_EMAIL,
    }
