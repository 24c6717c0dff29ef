"""Registries: an organization's `wandb-registry-*` projects, and search across them.

A registry is a project of the organization's own entity whose collections are portfolios: links
to versions logged in team projects. `Registry` wraps one (its settings, members and listings);
`Registries` lists an organization's registries and searches their collections
(`RegistryCollections`) and versions (`RegistryVersions`) with server-side filters in W&B's filter
language (`_registry_search.py` has the vocabulary). A listing chained after an ordered one
(`api.registries(order="name").versions()`) asks once per registry or collection, in that order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any, Generic, Literal, Never, Protocol, Self, TypeVar, overload

from ._capabilities import REGISTRY_ARTIFACT_TYPES
from ._client import Client
from ._pagination import DEFAULT_REGISTRY_PER_PAGE, Page, Paginator
from ._paths import REGISTRY_PREFIX, TYPE_NAME_FORM, check_part, is_registry_project, registry_name, registry_project
from ._registry_search import (
    ADVANCED_COLLECTION_FILTER,
    ADVANCED_REGISTRY_FILTER,
    ADVANCED_VERSION_FILTER,
    COLLECTION_FILTER,
    COLLECTION_ORDER,
    REGISTRY_FILTER,
    REGISTRY_ORDER,
    VERSION_FILTER,
    VERSION_ORDER,
    check_filter,
    check_order,
    project_number,
)
from ._times import parse_optional_server_time, parse_server_time
from .artifacts import Artifact
from .collections import ArtifactCollection
from .errors import (
    ConflictError,
    InvalidNameError,
    NotFoundError,
    OrganizationNotFoundError,
    ResponseValidationError,
    UnsupportedError,
)
from .members import MemberId, MemberKind, MemberRole, Team, TeamMember, UserMember, member_ids, member_role
from .organizations import advanced_search, fetch_organization, require_registry_search
from .users import User

if TYPE_CHECKING:
    from ._generated.client import GeneratedClient
    from ._generated.fragments import ArtifactCollectionFields, MembershipFields, RegistryFields

log = logging.getLogger("artifactkit")

T = TypeVar("T")

Visibility = Literal["organization", "restricted"]
"""Who may see a registry: everyone in the organization, or only its members."""
_ACCESS: dict[str, str] = {"organization": "PRIVATE", "restricted": "RESTRICTED"}
VISIBILITY_FORM = "'organization' (everyone in the organization) or 'restricted' (members only)"


def _visibility(access: str | None) -> Visibility:
    return "restricted" if access == "RESTRICTED" else "organization"


def check_visibility(value: object) -> str:
    """The `access` the server stores for a visibility; `InvalidNameError` for anything else."""
    if not isinstance(value, str) or value not in _ACCESS:
        raise InvalidNameError(f"invalid visibility {value!r}", expected=VISIBILITY_FORM)
    return _ACCESS[value]


def check_registry_types(types: Iterable[str]) -> list[str]:
    """Allowed artifact types, checked and de-duplicated in order."""
    return list(dict.fromkeys(check_part("artifact type", t, TYPE_NAME_FORM) for t in types))


class _HasClient(Protocol):
    @property
    def client(self) -> Client: ...


# -- the allowed types ------------------------------------------------------------------------


class AddOnlyArtifactTypesList(MutableSequence[str]):
    """A registry's allowed artifact types: saved ones stay, new ones are added by `Registry.save()`.

    Appending a type already there does nothing; removing a saved type raises `ValueError` (the
    server never removes one); types added since the last save may be removed again.
    """

    def __init__(self, saved: Iterable[str] = ()) -> None:
        self._saved: list[str] = list(dict.fromkeys(saved))
        self._draft: list[str] = []

    @property
    def draft(self) -> tuple[str, ...]:
        """The types added since the registry was loaded or saved."""
        return tuple(self._draft)

    def _all(self) -> list[str]:
        return [*self._saved, *self._draft]

    def __len__(self) -> int:
        return len(self._saved) + len(self._draft)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._all()[index]

    def _refuse_saved(self, value: str) -> Never:
        raise ValueError(f"cannot remove the artifact type {value!r}: it is saved in the registry")

    @overload
    def __setitem__(self, index: int, value: str) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[str]) -> None: ...
    def __setitem__(self, index: int | slice, value: str | Iterable[str]) -> None:
        raise TypeError("the allowed types cannot be replaced; append() new ones, remove() unsaved ones")

    @overload
    def __delitem__(self, index: int) -> None: ...
    @overload
    def __delitem__(self, index: slice) -> None: ...
    def __delitem__(self, index: int | slice) -> None:
        doomed = self._all()[index] if isinstance(index, slice) else [self._all()[index]]
        for value in doomed:
            self.remove(value)

    def insert(self, index: int, value: str) -> None:
        """Add `value` (at the end: saved types keep their places); nothing if it is there already."""
        if value not in self._saved and value not in self._draft:
            self._draft.append(value)

    def remove(self, value: str) -> None:
        """Take back a type added since the last save; a saved type raises `ValueError`."""
        if value in self._saved:
            self._refuse_saved(value)
        self._draft.remove(value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AddOnlyArtifactTypesList):
            return self._all() == other._all()
        return isinstance(other, list) and self._all() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AddOnlyArtifactTypesList(saved={self._saved!r}, draft={self._draft!r})"


# -- one registry -------------------------------------------------------------------------------


class Registry:
    """One registry of an organization. Edit `name`, `description`, `visibility`,
    `allow_all_artifact_types` and `artifact_types`, then `save()`.

    Registries come from `api.registry(name)`, `api.registries()` and `api.create_registry()`.
    Reading properties sends nothing; `collections()`, `versions()` and the member calls ask the server.
    """

    def __init__(self, client: Client, organization: str, entity: str, name: str) -> None:
        """Load the registry `name` (`model` or `wandb-registry-model`) of the organization whose entity is `entity`."""
        self.client = client
        self._organization = organization
        self._attrs = _load(client, organization, entity, registry_project(name))
        self._set_attrs(self._attrs)

    @classmethod
    def _wrap(cls, client: Client, organization: str, attrs: RegistryFields) -> Self:
        self = cls.__new__(cls)
        self.client = client
        self._organization = organization
        self._set_attrs(attrs)
        return self

    def _set_attrs(self, attrs: RegistryFields) -> None:
        self._attrs = attrs
        if attrs.entity.organization is not None:
            self._organization = attrs.entity.organization.name
        self._name = registry_name(attrs.name)
        self.description: str | None = attrs.description
        """The registry's description, yours to edit before `save()`."""
        self.allow_all_artifact_types: bool = attrs.allow_all_artifact_types_in_registry
        """Whether any artifact type may be linked (else only `artifact_types`); editable before `save()`."""
        self._visibility: Visibility = _visibility(attrs.access)
        types = [e.node.name for e in attrs.artifact_types.edges if e.node is not None]
        self._artifact_types = AddOnlyArtifactTypesList(types)

    # -- identity ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The registry project's GraphQL ID."""
        return self._attrs.id

    @property
    def internal_id(self) -> str | None:
        """The project's `internalId` (base64 of `Project:<n>` or `ProjectInternalId:<n>`)."""
        return self._attrs.internal_id

    @property
    def name(self) -> str:
        """The registry's name without the `wandb-registry-` prefix (`model`); rename it by setting it and `save()`."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def full_name(self) -> str:
        """The project's name: `wandb-registry-` and `name`."""
        return registry_project(self._name)

    @property
    def entity(self) -> str:
        """The organization's entity that holds the registry (e.g. `acme-org`)."""
        return self._attrs.entity.name

    @property
    def organization(self) -> str:
        """The organization's name (e.g. `acme`)."""
        return self._organization

    @property
    def path(self) -> list[str]:
        """`[entity, full_name]`, as wandb gives it."""
        return [self.entity, self._attrs.name]

    # -- settings ----------------------------------------------------------------------------

    @property
    def visibility(self) -> Visibility:
        """`"organization"` (everyone in the organization sees it) or `"restricted"` (members only)."""
        return self._visibility

    @visibility.setter
    def visibility(self, value: Visibility) -> None:
        check_visibility(value)
        self._visibility = value

    @property
    def artifact_types(self) -> AddOnlyArtifactTypesList:
        """The types that may be linked (with `allow_all_artifact_types`, those saved or in use).

        Append types and `save()` to allow them; a saved type is never removed.
        """
        return self._artifact_types

    @property
    def created_at(self) -> str:
        """When the registry was created, as the server wrote it (`created_at_datetime` is a `datetime`)."""
        return self._attrs.created_at

    @property
    def updated_at(self) -> str | None:
        """When the registry was last changed, as the server wrote it; None if never."""
        return self._attrs.updated_at

    @property
    def created_at_datetime(self) -> datetime:
        """When the registry was created (timezone-aware UTC)."""
        return parse_server_time(self._attrs.created_at)

    @property
    def updated_at_datetime(self) -> datetime | None:
        """When the registry was last changed; None if never."""
        return parse_optional_server_time(self._attrs.updated_at)

    # -- listings ----------------------------------------------------------------------------

    def _own_filter(self) -> dict[str, Any]:
        number = project_number(self._attrs.internal_id)
        return {"id": number} if number is not None else {"name": self._attrs.name}

    def collections(
        self,
        filter: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> RegistryCollections:
        """The registry's collections, filtered (`name`, `tag`, `description`, ...) and ordered on the server."""
        return RegistryCollections(
            self.client, self.organization, self._own_filter(), filter, order=order, per_page=per_page, start=start
        )

    def versions(
        self,
        filter: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> RegistryVersions:
        """The versions linked into the registry, filtered (`alias`, `tag`, `version`, `metadata.*`, ...) on the server.

        `order` (`created_at`, `artifact_size`, `linked_at`) needs the organization's advanced search.
        """
        return RegistryVersions(
            self.client,
            self.organization,
            self._own_filter(),
            None,
            filter,
            order=order,
            per_page=per_page,
            start=start,
        )

    # -- create, load, save, delete ----------------------------------------------------------

    @classmethod
    def create(
        cls,
        api: _HasClient,
        organization: str,
        name: str,
        visibility: Visibility,
        description: str | None = None,
        artifact_types: list[str] | None = None,
    ) -> Self:
        """Create the registry `name` in `organization` (what `api.create_registry()` does)."""
        registry = create_registry(api.client, organization, name, visibility, description, artifact_types)
        return cls._wrap(registry.client, registry.organization, registry._attrs)

    def load(self) -> None:
        """Fetch the registry again, dropping unsaved edits."""
        self._set_attrs(_load(self.client, self.organization, self.entity, self._attrs.name))

    def save(self) -> None:
        """Send the edits: description, visibility, allowed types (added only) and the name (a rename).

        Everything is checked before the first request.
        """
        what = f"saving registry {self._attrs.name} of organization {self.organization!r}"
        self.client.capabilities.require(REGISTRY_ARTIFACT_TYPES, "saving registries")
        new_types = check_registry_types(self._artifact_types.draft)
        if new_types and self.allow_all_artifact_types:
            raise InvalidNameError(
                f"cannot add the artifact types {new_types} while the registry allows every type",
                expected="allow_all_artifact_types = False before adding types",
            )
        new_name = registry_project(self._name)
        access = check_visibility(self._visibility)
        upsert = _upsert_input(
            self.entity, self._attrs.name, access, self.allow_all_artifact_types, self.description, new_types
        )
        answer = self.client.call(lambda c: c.upsert_registry(upsert), what).upsert_model
        if answer is None or answer.project is None:
            raise ResponseValidationError(f"the server returned no registry while {what}")
        if answer.inserted:
            log.warning("saving registry %s created it: it no longer existed", self._attrs.name)
        self._set_attrs(answer.project)
        if new_name != self._attrs.name:
            from ._generated.input_types import RenameProjectInput

            rename = RenameProjectInput(
                entity_name=self.entity, old_project_name=self._attrs.name, new_project_name=new_name
            )
            renamed = self.client.call(lambda c: c.rename_registry(rename), what).rename_project
            if renamed is None or renamed.project is None:
                raise ResponseValidationError(f"the server returned no registry while renaming it to {new_name}")
            self._set_attrs(renamed.project)

    def delete(self) -> None:
        """Delete the registry with its collections (the linked versions stay in their projects)."""
        what = f"deleting registry {self._attrs.name} of organization {self.organization!r}"
        answer = self.client.call(lambda c: c.delete_registry(self.id), what).delete_model
        if answer is None or not answer.success:
            raise NotFoundError(f"registry {self._attrs.name} no longer exists while {what}", kind="registry")

    # -- members -----------------------------------------------------------------------------

    def members(self) -> list[UserMember | TeamMember]:
        """The users and then the teams that are members, with their roles (two requests)."""
        return [*self.user_members(), *self.team_members()]

    def user_members(self) -> list[UserMember]:
        """The users that are members, with their roles."""
        what = f"listing the user members of registry {self._attrs.name}"
        project = self.client.call(lambda c: c.registry_user_members(self.entity, self._attrs.name), what).project
        if project is None:
            raise self._gone(what)
        users = [(User(m.id, m.name or "", m.username, m.email, None), m.role.name) for m in project.members]
        return [UserMember(user, member_role(role)) for user, role in users]

    def team_members(self) -> list[TeamMember]:
        """The teams that are members, with their roles."""
        what = f"listing the team members of registry {self._attrs.name}"
        project = self.client.call(lambda c: c.registry_team_members(self.entity, self._attrs.name), what).project
        if project is None:
            raise self._gone(what)
        return [TeamMember(Team._of(m.team), member_role(m.role.name)) for m in project.team_members]

    def add_members(self, *members: User | UserMember | Team | TeamMember | str) -> Self:
        """Make users and teams members (with the server's default role); returns this registry."""
        from ._generated.input_types import CreateProjectMembersInput

        users, teams = member_ids(members, "add_members()")
        add = CreateProjectMembersInput(project_id=self.id, user_ids=users, team_ids=teams)
        what = f"adding members to registry {self._attrs.name}"
        answer = self.client.call(lambda c: c.add_registry_members(add), what).create_project_members
        if answer is None or not answer.success:
            raise ResponseValidationError(f"the server did not confirm {what}")
        return self

    def remove_members(self, *members: User | UserMember | Team | TeamMember | str) -> Self:
        """Remove users and teams from the members; returns this registry."""
        from ._generated.input_types import DeleteProjectMembersInput

        users, teams = member_ids(members, "remove_members()")
        remove = DeleteProjectMembersInput(project_id=self.id, user_ids=users, team_ids=teams)
        what = f"removing members from registry {self._attrs.name}"
        answer = self.client.call(lambda c: c.remove_registry_members(remove), what).delete_project_members
        if answer is None or not answer.success:
            raise ResponseValidationError(f"the server did not confirm {what}")
        return self

    def update_member(self, member: User | UserMember | Team | TeamMember | str, role: MemberRole | str) -> Self:
        """Give a user or team member another role (`admin`, `member`, `viewer`, `restricted_viewer`)."""
        from ._generated.input_types import UpdateProjectMemberInput, UpdateProjectTeamMemberInput

        member_id = MemberId.of(member)
        role_name = role.value if isinstance(role, MemberRole) else role
        if not isinstance(role_name, str) or not role_name:
            raise InvalidNameError(f"invalid role {role!r}", expected=", ".join(repr(r.value) for r in MemberRole))
        what = (
            f"giving {member_id.kind.value.lower()} {member_id.encode()} the role {role_name!r} in {self._attrs.name}"
        )
        if member_id.kind is MemberKind.USER:
            user = UpdateProjectMemberInput(project_id=self.id, user_id=member_id.encode(), user_project_role=role_name)
            answer = self.client.call(lambda c: c.update_registry_user_role(user), what).update_project_member
            done = answer is not None and answer.success
        else:
            team = UpdateProjectTeamMemberInput(
                project_id=self.id, team_id=member_id.encode(), team_project_role=role_name
            )
            reply = self.client.call(lambda c: c.update_registry_team_role(team), what).update_project_team_member
            done = reply is not None and reply.success
        if not done:
            raise ResponseValidationError(f"the server did not confirm {what}")
        return self

    def _gone(self, what: str) -> NotFoundError:
        return NotFoundError(
            f"registry {self._attrs.name} of organization {self.organization!r} not found while {what}",
            kind="registry",
            path=f"{self.entity}/{self._attrs.name}",
        )

    def __repr__(self) -> str:
        return f"<Registry {self.organization}/{self.name} ({self.visibility})>"


def _upsert_input(
    entity: str, project: str, access: str, allow_all: bool, description: str | None, types: list[str]
) -> Any:
    from ._generated.input_types import ArtifactTypeInput, UpsertModelInput

    fields: dict[str, Any] = {
        "entity_name": entity,
        "name": project,
        "access": access,
        "allow_all_artifact_types_in_registry": allow_all,
    }
    if description is not None:
        fields["description"] = description
    if types:
        fields["artifact_types"] = [ArtifactTypeInput(name=t) for t in types]
    return UpsertModelInput(**fields)


def _find(client: Client, entity: str, project: str, what: str) -> RegistryFields | None:
    result = client.call(lambda c: c.registry_by_name(entity, project), what)
    return None if result.entity is None else result.entity.project


def _load(client: Client, organization: str, entity: str, project: str) -> RegistryFields:
    found = _find(client, entity, project, f"loading registry {project} of organization {organization!r}")
    if found is None:
        raise NotFoundError(
            f"registry {registry_name(project)!r} not found in organization {organization!r} (or not visible to you)",
            kind="registry",
            path=f"{entity}/{project}",
        )
    return found


def load_registry(client: Client, organization: str, name: str) -> Registry:
    """`api.registry()`: the registry `name` of `organization` (two requests: the organization, the registry)."""
    require_registry_search(client, "registries")
    project = registry_project(name)
    org = fetch_organization(client, organization)
    return Registry._wrap(client, org.name, _load(client, org.name, org.org_entity.name, project))


def require_registry_creation(client: Client) -> None:
    """`UnsupportedError` (before anything but the capability probe) where registries cannot be created."""
    client.capabilities.require(REGISTRY_ARTIFACT_TYPES, "creating registries")


def create_registry(
    client: Client,
    organization: str,
    name: str,
    visibility: Visibility,
    description: str | None = None,
    artifact_types: list[str] | None = None,
) -> Registry:
    """`api.create_registry()`: a new registry; `ConflictError` if the name is taken. Checked before any request."""
    require_registry_creation(client)
    project = registry_project(name)
    access = check_visibility(visibility)
    types = check_registry_types(artifact_types or [])
    org = fetch_organization(client, organization)
    entity = org.org_entity.name
    what = f"creating registry {project} in organization {org.name!r}"
    if _find(client, entity, project, what) is not None:
        raise ConflictError(
            f"registry {registry_name(project)!r} already exists in organization {org.name!r}; choose another name",
            status_code=409,
        )
    upsert = _upsert_input(entity, project, access, not types, description, types)
    answer = client.call(lambda c: c.upsert_registry(upsert), what).upsert_model
    if answer is None or answer.project is None:
        raise ResponseValidationError(f"the server returned no registry while {what}")
    if not answer.inserted:
        raise ConflictError(
            f"registry {registry_name(project)!r} already exists in organization {org.name!r} (created meanwhile)",
            status_code=409,
        )
    return Registry._wrap(client, org.name, answer.project)


# -- search -------------------------------------------------------------------------------------


class ChainedListing(Generic[T]):
    """The items of several listings one after the other (after an ordered parent listing).

    Iterable (again and again); it has no cursor, length or indexing: each parent is asked on the way.
    """

    def __init__(self, listings: Iterable[Iterable[T]]) -> None:
        self._listings = listings

    def __iter__(self) -> Iterator[T]:
        return chain.from_iterable(self._listings)

    @property
    def cursor(self) -> Never:
        """Not available: `UnsupportedError` (each parent is asked separately)."""
        raise UnsupportedError("a listing chained after an ordered one has no cursor; remove `order` to page")

    @property
    def length(self) -> Never:
        """Not available: `UnsupportedError`."""
        raise UnsupportedError("a listing chained after an ordered one has no length")

    def __len__(self) -> Never:
        raise TypeError("a listing chained after an ordered one has no length; use list(...)")

    def __getitem__(self, index: int | slice) -> Never:
        raise UnsupportedError("a listing chained after an ordered one cannot be indexed; use list(...)")


class _Regenerate(Generic[T]):
    """An iterable that builds its iterator anew each time (so a chained listing is re-iterable)."""

    def __init__(self, make: Callable[[], Iterable[T]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[T]:
        return iter(self._make())


def _no_start(start: str | None, parent: str, order: str) -> None:
    if start is not None:
        raise ValueError(
            f"start={start!r} cannot be used after {parent} listed with order={order!r}: each is asked separately; "
            f"remove 'order' from the {parent} or 'start' here"
        )


class _OrganizationSearch(Paginator[T]):
    """A listing of an organization's registry search: it holds the client and the organization, and
    asks for a page through the organization's entity."""

    def __init__(self, client: Client, organization: str, per_page: int, start: str | None) -> None:
        super().__init__(per_page, start=start)
        self.client = client
        self.organization = organization

    def _org_entity(self, fetch: Callable[[GeneratedClient], Any], what: str) -> Any:
        """The organization's entity in the answer to `fetch` (`what`, said of the organization)."""
        org = self.client.call(fetch, f"{what} of organization {self.organization!r}").organization
        if org is None or org.org_entity is None:
            raise OrganizationNotFoundError(
                f"Organization {self.organization!r} not found. Please verify the organization name is correct.",
                path=self.organization,
            )
        return org.org_entity


class Registries(_OrganizationSearch[Registry]):
    """An organization's registries that the caller may see, filtered and ordered on the server.

    `collections()` and `versions()` search inside the registries this listing selects.
    """

    counted = False

    def __init__(
        self,
        client: Client,
        organization: str,
        filter: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> None:
        super().__init__(client, organization, per_page, start)
        self.filter = check_filter(filter, REGISTRY_FILTER, "registries", registry_names=True)
        self.order = check_order(order, REGISTRY_ORDER, "registries")

    def _fetch_page(self, cursor: str | None) -> Page[Registry]:
        connection = self._org_entity(
            lambda c: c.organization_registries(
                self.organization, filters=self.filter, order=self.order, cursor=cursor, per_page=self.per_page
            ),
            "listing the registries",
        ).projects
        if connection is None:
            return Page([], None, False)
        items = [
            Registry._wrap(self.client, self.organization, node)
            for edge in connection.edges
            if (node := edge.node) is not None and is_registry_project(node.name)
        ]
        return Page.of(connection, items)

    def collections(
        self,
        filter: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> RegistryCollections | OrderedCollections:
        """The collections of these registries, filtered (`name`, `tag`, `description`, ...) on the server."""
        if self.order is not None:
            _no_start(start, "registries", self.order)
            check_filter(filter, COLLECTION_FILTER, "collections")
            check_order(order, COLLECTION_ORDER, "collections")
            return OrderedCollections(
                self.client,
                self.organization,
                _Regenerate(lambda: (reg.collections(filter, order=order, per_page=per_page) for reg in self)),
            )
        return RegistryCollections(
            self.client, self.organization, self.filter, filter, order=order, per_page=per_page, start=start
        )

    def versions(
        self,
        filter: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> RegistryVersions | ChainedListing[Artifact]:
        """The versions linked into these registries, filtered (`alias`, `tag`, `version`, `metadata.*`, ...)."""
        if self.order is not None:
            _no_start(start, "registries", self.order)
            return ChainedListing(
                _Regenerate(lambda: (reg.versions(filter, order=order, per_page=per_page) for reg in self))
            )
        return RegistryVersions(
            self.client, self.organization, self.filter, None, filter, order=order, per_page=per_page, start=start
        )

    def __repr__(self) -> str:
        return f"<Registries of {self.organization}>"


class RegistryCollections(_OrganizationSearch[ArtifactCollection]):
    """Collections across the registries a filter selects, counted by the server."""

    def __init__(
        self,
        client: Client,
        organization: str,
        registry_filter: dict[str, Any] | None = None,
        collection_filter: dict[str, Any] | None = None,
        *,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> None:
        super().__init__(client, organization, per_page, start)
        self.registry_filter = check_filter(registry_filter, REGISTRY_FILTER, "registries", registry_names=True)
        self.collection_filter = check_filter(collection_filter, COLLECTION_FILTER, "collections")
        self.order = check_order(order, COLLECTION_ORDER, "collections")

    def _fetch_page(self, cursor: str | None) -> Page[ArtifactCollection]:
        connection = self._org_entity(
            lambda c: c.search_registry_collections(
                self.organization,
                registry_filter=self.registry_filter,
                collection_filter=self.collection_filter,
                order=self.order,
                cursor=cursor,
                per_page=self.per_page,
            ),
            "searching the registry collections",
        ).artifact_collections
        if connection is None:
            return Page([], None, False, 0)
        items = [
            _collection(self.client, self.organization, node)
            for edge in connection.edges
            if (node := edge.node) is not None and node.project is not None and node.typename__ != "ArtifactSequence"
        ]
        return Page.of(connection, items, connection.total_count)

    def versions(
        self,
        filter: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> RegistryVersions | ChainedListing[Artifact]:
        """The versions linked into these collections, filtered on the server."""
        if self.order is not None:
            _no_start(start, "collections", self.order)
            return _versions_of_each(self.client, self.organization, self, filter, order, per_page)
        return RegistryVersions(
            self.client,
            self.organization,
            self.registry_filter,
            self.collection_filter,
            filter,
            order=order,
            per_page=per_page,
            start=start,
        )

    def __repr__(self) -> str:
        return f"<RegistryCollections of {self.organization}>"


def _collection(client: Client, organization: str, node: ArtifactCollectionFields) -> ArtifactCollection:
    assert node.project is not None
    return ArtifactCollection._from_attrs(client, node.project.entity_name, node.project.name, node, organization)


def _versions_of_each(
    client: Client,
    organization: str,
    collections: Iterable[ArtifactCollection],
    filter: dict[str, Any] | None,
    order: str | None,
    per_page: int,
) -> ChainedListing[Artifact]:
    return ChainedListing(
        _Regenerate(
            lambda: (
                RegistryVersions(
                    client, organization, {"name": c.project}, {"name": c.name}, filter, order=order, per_page=per_page
                )
                for c in collections
            )
        )
    )


class OrderedCollections(ChainedListing[ArtifactCollection]):
    """Collections of several registries in the registries' order (after `registries(order=...)`)."""

    def __init__(self, client: Client, organization: str, listings: Iterable[Iterable[ArtifactCollection]]) -> None:
        super().__init__(listings)
        self.client = client
        self.organization = organization

    def versions(
        self,
        filter: dict[str, Any] | None = None,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> ChainedListing[Artifact]:
        """The versions of each collection, collection after collection."""
        _no_start(start, "registries", "...")
        return _versions_of_each(self.client, self.organization, self, filter, order, per_page)


class RegistryVersions(_OrganizationSearch[Artifact]):
    """Versions linked into the registries and collections the filters select.

    The server does not count them (`len()` raises `TypeError`). Whether `order` and the advanced
    filter names are available depends on the organization (asked once per client).
    """

    counted = False

    def __init__(
        self,
        client: Client,
        organization: str,
        registry_filter: dict[str, Any] | None = None,
        collection_filter: dict[str, Any] | None = None,
        artifact_filter: dict[str, Any] | None = None,
        *,
        order: str | None = None,
        per_page: int = DEFAULT_REGISTRY_PER_PAGE,
        start: str | None = None,
    ) -> None:
        super().__init__(client, organization, per_page, start)
        if advanced_search(client, organization):
            registries, collections, versions = (
                ADVANCED_REGISTRY_FILTER,
                ADVANCED_COLLECTION_FILTER,
                ADVANCED_VERSION_FILTER,
            )
            self.order = check_order(order, VERSION_ORDER, "registry versions")
        else:
            registries, collections, versions = REGISTRY_FILTER, COLLECTION_FILTER, VERSION_FILTER
            if order is not None:
                raise UnsupportedError(
                    f"organization {organization!r} does not offer ordered registry version search; leave out order="
                )
            self.order = None
        self.registry_filter = check_filter(registry_filter, registries, "registries", registry_names=True)
        self.collection_filter = check_filter(collection_filter, collections, "collections")
        self.artifact_filter = check_filter(artifact_filter, versions, "versions")

    def _fetch_page(self, cursor: str | None) -> Page[Artifact]:
        connection = self._org_entity(
            lambda c: c.search_registry_versions(
                self.organization,
                registry_filter=self.registry_filter,
                collection_filter=self.collection_filter,
                artifact_filter=self.artifact_filter,
                order=self.order,
                cursor=cursor,
                per_page=self.per_page,
            ),
            "searching the registry versions",
        ).artifact_memberships
        if connection is None:
            return Page([], None, False)
        items = [
            _linked(self.client, node)
            for edge in connection.edges
            if (node := edge.node) is not None
            and node.artifact is not None
            and node.artifact_collection is not None
            and node.artifact_collection.project is not None
            and node.version_index is not None
        ]
        return Page.of(connection, items)

    def __repr__(self) -> str:
        return f"<RegistryVersions of {self.organization}>"


def _linked(client: Client, node: MembershipFields) -> Artifact:
    assert node.artifact_collection is not None and node.artifact_collection.project is not None
    project = node.artifact_collection.project
    return Artifact._from_membership(client, node, (project.entity_name, project.name))


def list_registries(
    client: Client,
    organization: str,
    filter: dict[str, Any] | None,
    order: str | None,
    per_page: int,
    start: str | None,
) -> Registries:
    """`api.registries()`, refused before any request where the server has no registry search."""
    require_registry_search(client, "registries")
    return Registries(client, organization, filter, order, per_page, start)


def check_registries_arguments(filter: dict[str, Any] | None, order: str | None) -> None:
    """What `Registries` checks, for callers that must check it before deciding the organization."""
    check_filter(filter, REGISTRY_FILTER, "registries", registry_names=True)
    check_order(order, REGISTRY_ORDER, "registries")


__all__ = [
    "REGISTRY_PREFIX",
    "AddOnlyArtifactTypesList",
    "ChainedListing",
    "OrderedCollections",
    "Registries",
    "Registry",
    "RegistryCollections",
    "RegistryVersions",
    "Visibility",
]
