from django.db import models


class Order(models.Model):
    customer_name = models.CharField(max_length=200)
    customer = models.CharField(max_length=200, null=True)
