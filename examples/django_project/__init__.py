"""A minimal Django project with seawall: ``gunicorn examples.django_project.wsgi:application``."""
