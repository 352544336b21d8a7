import os

SECRET_KEY = "test-only-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["orders", "billing"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["RP_DB_NAME"],
        "USER": os.environ["RP_DB_USER"],
        "PASSWORD": os.environ["RP_DB_PASSWORD"],
        "HOST": os.environ["RP_DB_HOST"],
        "PORT": os.environ["RP_DB_PORT"],
    }
}
