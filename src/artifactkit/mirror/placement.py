"""Where the source's projects and runs go on the target."""

from __future__ import annotations

from collections.abc import Mapping

from .records import ProjectKey, RunKey


class Placement:
    """The selections' projects go where they were asked to; any other project of a mirrored entity
    (a run's project, the sequence of a version a mirrored portfolio links) keeps its name in the
    target entity. Projects of other entities are not mirrored (`project()` is None)."""

    def __init__(self, projects: Mapping[ProjectKey, ProjectKey]) -> None:
        self.projects = dict(projects)
        self.entities: dict[str, str] = {}
        for source, target in self.projects.items():
            self.entities.setdefault(source.entity, target.entity)

    def project(self, key: ProjectKey) -> ProjectKey | None:
        if key in self.projects:
            return self.projects[key]
        entity = self.entities.get(key.entity)
        return None if entity is None else ProjectKey(entity, key.project)

    def run(self, key: RunKey) -> RunKey | None:
        project = self.project(ProjectKey(key.entity, key.project))
        return None if project is None else RunKey(project.entity, project.project, key.id)
