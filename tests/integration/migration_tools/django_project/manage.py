#!/usr/bin/env python3
"""A real Django project for tests/integration/test_migration_tools.cpp: two apps (orders,
billing), three migrations, the database from RP_DB_* variables (a throwaway PostgreSQL via
psycopg2). Run: python3 manage.py migrate orders 0001_initial"""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
