"""Admin helpers run inside NetBox (``netbox shell -c``) by scripts/local-netbox.

Reads its instructions from environment variables so no secret passes on a
command line. Prints only what the caller asked for (a token).
"""
import os
import sys

from django.contrib.auth import get_user_model
from core.models import ObjectType
from users.models import ObjectPermission, Token

action = os.environ["GEOFOSS_ADMIN_ACTION"]
User = get_user_model()


def superuser():
    name = os.environ["GEOFOSS_ADMIN_USER"]
    user, _ = User.objects.get_or_create(username=name, defaults={"is_superuser": True})
    user.is_superuser = True
    if os.environ.get("GEOFOSS_ADMIN_PASSWORD"):
        user.set_password(os.environ["GEOFOSS_ADMIN_PASSWORD"])
    user.save()
    return user


def make_token(user, version, write_enabled=True):
    token = Token(user=user, version=version, write_enabled=write_enabled,
                  description="geofoss.netbox local test bed")
    token.save()
    if version == 1:
        return token.token
    return "nbt_%s.%s" % (token.key, token.token)


def limited_user():
    """A non-superuser whose only rights are the permissions listed, e.g.
    ``view,add,change:dcim.region;view:extras.customfield``."""
    name = os.environ["GEOFOSS_ADMIN_USER"]
    user, _ = User.objects.get_or_create(username=name)
    user.is_superuser = False
    user.save()
    user.object_permissions.clear()
    spec = os.environ.get("GEOFOSS_ADMIN_PERMS", "")
    for index, item in enumerate(filter(None, spec.split(";"))):
        actions, _, models = item.partition(":")
        perm = ObjectPermission.objects.create(
            name="%s-%d" % (name, index), actions=actions.split(","), enabled=True)
        for label in models.split(","):
            app_label, model = label.split(".")
            perm.object_types.add(ObjectType.objects.get_by_natural_key(app_label, model))
        user.object_permissions.add(perm)
    return user


if action == "bootstrap":
    admin = superuser()
    Token.objects.filter(user=admin).delete()
    with open(os.environ["GEOFOSS_ADMIN_TOKEN_FILE"], "w") as fh:
        fh.write(make_token(admin, 2) + "\n")
    with open(os.environ["GEOFOSS_ADMIN_TOKEN_V1_FILE"], "w") as fh:
        fh.write(make_token(admin, 1) + "\n")
elif action == "token":
    user = limited_user() if os.environ.get("GEOFOSS_ADMIN_LIMITED") else superuser()
    version = int(os.environ.get("GEOFOSS_ADMIN_TOKEN_VERSION", "2"))
    write = os.environ.get("GEOFOSS_ADMIN_WRITE", "1") == "1"
    sys.stdout.write(make_token(user, version, write) + "\n")
else:
    raise SystemExit("unknown action %s" % action)
