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


# NetBox 4.5 brought v2 tokens (``nbt_<key>.<secret>``, a hashed secret) beside v1; before
# it a Token's key is the v1 token itself and there is no version field.
V2_TOKENS = any(field.name == "version" for field in Token._meta.get_fields())


def make_token(user, version, write_enabled=True):
    """A new token of the user: v2 where NetBox has them and v2 is asked for, else v1."""
    description = "geofoss.netbox local test bed"
    if not V2_TOKENS:
        token = Token(user=user, write_enabled=write_enabled, description=description)
        token.save()
        return token.key
    token = Token(user=user, version=version, write_enabled=write_enabled, description=description)
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
elif action == "rebuild_tree":
    # NetBox 4.4-4.6: django-mptt's repair (what NetBox's own bulk edit view runs after saving);
    # 4.7's ltree paths are kept by triggers and need none.
    from dcim.models import Region
    from mptt.models import MPTTModel

    if issubclass(Region, MPTTModel):
        Region.objects.rebuild()
        sys.stdout.write("rebuilt the region tree of %d regions\n" % Region.objects.count())
    else:
        sys.stdout.write("NetBox keeps region paths with triggers: nothing to rebuild\n")
else:
    raise SystemExit("unknown action %s" % action)
