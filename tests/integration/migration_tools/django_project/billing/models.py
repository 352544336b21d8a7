from django.db import models


class Invoice(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE)
    amount_cents = models.BigIntegerField()
