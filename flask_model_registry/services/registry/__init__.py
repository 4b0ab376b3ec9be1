"""Registered models and their versions: semantic versions, aliases, stages and packages.

Every version has two identities: ``sequence``, an integer handed out per model (MLflow's
``version``, so ``models:/fraud/3`` round-trips), and ``semver``, a semantic version unique per
model by precedence (the registry's version and the host package's version). The semver is
chosen with the version tag :data:`SEMVER_TAG` on create, or bumped from the highest release.

A version snapshots its files: on create, the files of its source (a logged model's artifacts, a
run's artifact sub-directory, another version's files) are copied under
``<project_id>/model-registry/<model pk>/`` and the version's ``storage_location`` points there.
Those files belong to the version (and to its host package) and are deleted with it; the run's
and the logged model's own files are never touched.

:mod:`.lookup` reads models and versions, :mod:`.models` changes registered models,
:mod:`.versions` creates and changes versions, :mod:`.lineage` follows a version's source,
:mod:`.records` and :mod:`.search` read what MLflow's API shows as plain rows.
"""

from __future__ import annotations

from .lineage import files_uri
from .lookup import (
    ACTIVE_STAGES,
    SEMVER_TAG,
    STAGES,
    aliases_by_version,
    find_semver_id,
    get_latest_versions,
    get_model,
    get_model_by_id,
    get_version,
    get_version_by_semver,
    latest_of,
    latest_version,
    list_models,
    precedence,
    version_by_id,
    version_summary,
    versions_by_precedence,
)
from .models import (
    create_model,
    delete_alias,
    delete_model,
    delete_model_tag,
    rename_model,
    set_alias,
    set_model_tag,
    update_model,
)
from .records import (
    ModelRecord,
    VersionRecord,
    get_version_by_alias,
    latest_version_records,
    model_record,
    model_record_of,
    version_record,
    version_record_by_alias,
    version_record_of,
    version_records,
)
from .search import ModelRecordPage, VersionRecordPage, search_model_records, search_version_records
from .versions import (
    create_version,
    delete_version,
    delete_version_tag,
    download_uri,
    load_provenance,
    package_files,
    promote_candidate,
    set_version_tag,
    transition_stage,
    update_version,
    version_files,
)

__all__ = [
    "ACTIVE_STAGES",
    "SEMVER_TAG",
    "STAGES",
    "ModelRecord",
    "ModelRecordPage",
    "VersionRecord",
    "VersionRecordPage",
    "aliases_by_version",
    "create_model",
    "create_version",
    "delete_alias",
    "delete_model",
    "delete_model_tag",
    "delete_version",
    "delete_version_tag",
    "download_uri",
    "files_uri",
    "find_semver_id",
    "get_latest_versions",
    "get_model",
    "get_model_by_id",
    "get_version",
    "get_version_by_alias",
    "get_version_by_semver",
    "latest_of",
    "latest_version",
    "latest_version_records",
    "list_models",
    "load_provenance",
    "model_record",
    "model_record_of",
    "package_files",
    "precedence",
    "promote_candidate",
    "rename_model",
    "search_model_records",
    "search_version_records",
    "set_alias",
    "set_model_tag",
    "set_version_tag",
    "transition_stage",
    "update_model",
    "update_version",
    "version_by_id",
    "version_files",
    "version_record",
    "version_record_by_alias",
    "version_record_of",
    "version_records",
    "version_summary",
    "versions_by_precedence",
]
