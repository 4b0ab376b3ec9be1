"""The domain layer: create, read, update and delete registry entities, with no HTTP in it.

Every function takes a :class:`~flask_model_registry.services.context.ProjectContext` first, so
every query is scoped to one project, and raises :mod:`flask_model_registry.errors` errors.
Functions ``flush``; the caller commits or rolls back the one transaction of a request.
"""
