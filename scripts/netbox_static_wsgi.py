"""NetBox's WSGI application with its static files served, for scripts/local-netbox.

NetBox serves no /static/ itself (a production install leaves that to nginx or Apache),
so the web UI of a bare gunicorn shows NetBox's "Static Media Failure" page. WhiteNoise
serves what `collectstatic` gathered into STATIC_ROOT from the same gunicorn, on every
NetBox release, whatever DEBUG says.
"""
from django.conf import settings
from netbox.wsgi import application as netbox_application
from whitenoise import WhiteNoise

application = WhiteNoise(netbox_application, root=settings.STATIC_ROOT, prefix=settings.STATIC_URL)
