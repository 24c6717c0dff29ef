"""Organizations, and deciding which one a registry path belongs to.

A W&B organization has a display name (`acme`) and one entity of its own (`acme-org`, its
`org_entity`) that holds its registries, the projects named `wandb-registry-*`. A team entity
belongs to one organization; a user's personal entity to none or several (through its user).

A registry path may leave the organization out (`wandb-registry-model/classifier:production`);
then it is decided exactly as wandb 0.31.0 decides it, from the organization named (in the
path, else the `organization` setting) and the entity the caller works as:

* `resolve_org(client, entity, named)`: registry paths of versions, collections, types and links.
  A team entity's own organization wins if nothing else is named or the name matches it; else a
  personal entity's organizations, which must match the name or, without one, be exactly one.
* `organization_name(client, configured, entity)`: `Api.registries()`, `registry()` and
  `create_registry()` without `organization=`: the setting as given, else the entity's
  organization, else the user's only one.

Each entity's organizations are asked for once per client (one request). When no organization
can be decided the errors are typed (`OrganizationNotFoundError`, `AmbiguousOrganizationError`)
and come before any request that would use the path, so a registry path never turns into an
ordinary project of some entity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ._capabilities import COLLECTION_FILTERING, REGISTRY_SEARCH
from ._client import Client
from .errors import (
    AmbiguousOrganizationError,
    APIStatusError,
    GraphQLError,
    OrganizationNotFoundError,
    ResponseValidationError,
    UnsupportedError,
)

if TYPE_CHECKING:
    from ._generated.fragments import OrganizationRefFields

log = logging.getLogger("artifactkit")


class OrgInfo(NamedTuple):
    """An organization's display name and the name of its own entity."""

    name: str
    entity_name: str

    def matches(self, named: str) -> bool:
        """Whether `named` is this organization's name or its entity's (a path may give either)."""
        return named in (self.name, self.entity_name)


@dataclass(frozen=True)
class EntityOrganizations:
    """What the server says about one entity's organizations (the answer is cached per client)."""

    exists: bool
    team_organization: OrgInfo | None
    """The organization a team (or organization) entity belongs to."""
    user_organizations: tuple[OrgInfo, ...]
    """The organizations of a personal entity's user that have an entity of their own."""
    user_organization_names: tuple[str, ...]
    """Every organization of that user, with an entity or not."""


@dataclass(frozen=True)
class OrgEntity:
    """The entity of an organization, which holds its registries."""

    id: str
    name: str
    entity_type: str
    """`"organization"`."""


@dataclass(frozen=True)
class Organization:
    """A W&B organization (what `Api.organization()` returns)."""

    id: str
    """The organization's GraphQL ID."""
    name: str
    """The display name, e.g. `acme`: what `organization=` arguments and `WANDB_ORGANIZATION` take."""
    org_entity: OrgEntity
    """The organization's own entity (e.g. `acme-org`): the owner of its registries."""


def _info(ref: OrganizationRefFields) -> OrgInfo | None:
    return None if ref.org_entity is None else OrgInfo(ref.name, ref.org_entity.name)


def require_registries(client: Client, what: str) -> None:
    """`UnsupportedError` (after the one capability probe, before anything else) where the server has no registries."""
    if not client.capabilities.collection_edges:
        raise UnsupportedError(f"this W&B server predates registries: {what} is not possible here")


def require_registry_search(client: Client, what: str) -> None:
    """`UnsupportedError` unless the server offers registry listings and search (`ARTIFACT_REGISTRY_SEARCH`)."""
    client.capabilities.require(REGISTRY_SEARCH, what)


def entity_organizations(client: Client, entity: str) -> EntityOrganizations:
    """The organizations of `entity`, asked once per client."""
    known = client.entity_organizations.get(entity)
    if known is not None:
        return known
    result = client.call(lambda c: c.entity_organizations(entity), f"asking which organization {entity!r} belongs to")
    node = result.entity
    if node is None:
        found = EntityOrganizations(False, None, (), ())
    else:
        team = None if node.organization is None else _info(node.organization)
        orgs = [] if node.user is None else node.user.organizations
        with_entity = tuple(info for o in orgs if (info := _info(o)) is not None)
        found = EntityOrganizations(True, team, with_entity, tuple(o.name for o in orgs))
    client.entity_organizations[entity] = found
    return found


def resolve_org(client: Client, entity: str | None, named: str | None) -> OrgInfo:
    """The organization a registry path belongs to, decided as wandb 0.31.0 decides it (see the module).

    `entity` is the entity the caller works as (a link's source entity; the configured or default
    entity otherwise); `named` the organization or organization-entity name the path or the
    settings give, if any.
    """
    if not entity:
        raise OrganizationNotFoundError(
            "no entity is configured to find an organization from: name the organization in the registry path "
            "('ORGANIZATION/wandb-registry-NAME/...') or pass entity= (WANDB_ENTITY)"
        )
    found = entity_organizations(client, entity)
    team = found.team_organization
    if team is not None and (not named or team.matches(named)):
        return team
    candidates = found.user_organizations
    if candidates:
        if named:
            for candidate in candidates:
                if candidate.matches(named):
                    return candidate
            if len(candidates) == 1:
                raise OrganizationNotFoundError(
                    f"Expecting the organization name or entity name to match {candidates[0].name!r} and cannot be "
                    f"linked/fetched with {named!r}. Please update the target path with the correct organization name."
                )
            raise OrganizationNotFoundError(
                f"Personal entity belongs to multiple organizations and cannot be linked/fetched with {named!r}. "
                "Please update the target path with the correct organization name or use a team entity in the "
                "entity settings."
            )
        if len(candidates) == 1:
            return candidates[0]
        raise AmbiguousOrganizationError(
            f"Personal entity {entity!r} belongs to multiple organizations and cannot be used without specifying "
            "the organization name. Please specify the organization in the Registry path or use a team entity in "
            "the entity settings."
        )
    if found.user_organization_names:
        raise OrganizationNotFoundError(
            f"Unable to resolve an organization associated with personal entity: {entity!r}. This could be because "
            "its a personal entity that doesn't belong to any organizations. Please specify the organization in the "
            "Registry path or use a team entity in the entity settings."
        )
    raise OrganizationNotFoundError(f"Unable to find organization for entity {entity!r}.")


def organization_of_entity(client: Client, entity: str) -> str | None:
    """The name of the organization a team or organization entity belongs to (asked once); None if none."""
    team = entity_organizations(client, entity).team_organization
    return None if team is None else team.name


def organization_name(client: Client, configured: str | None, entity: str | None) -> str:
    """The organization `Api.registries()`, `registry()` and `create_registry()` use when given none.

    The configured one as it is; else the entity's own organization; else its user's only one.
    """
    if configured:
        return configured
    if not entity:
        raise OrganizationNotFoundError(
            "no entity is configured to find an organization from: pass organization= or set WANDB_ORGANIZATION"
        )
    found = entity_organizations(client, entity)
    if found.team_organization is not None:
        return found.team_organization.name
    names = found.user_organization_names
    if len(names) == 1:
        return names[0]
    if not names:
        raise OrganizationNotFoundError(
            f"No organizations found for entity {entity!r}. Please specify an organization in the settings: "
            "pass organization= or set WANDB_ORGANIZATION."
        )
    raise AmbiguousOrganizationError(
        f"Multiple organizations found for entity {entity!r} ({', '.join(sorted(names))}). Please specify an "
        "organization in the settings: pass organization= or set WANDB_ORGANIZATION."
    )


def registry_entity(client: Client, entity: Callable[[], str | None]) -> Callable[[str | None], str]:
    """For the path parsers (`_paths.RegistryEntity`): the entity holding a registry, given the
    organization a path names (None: the configured one, else decided from `entity()`).

    Refused with `UnsupportedError` where the server predates registries.
    """

    def resolve(named: str | None) -> str:
        require_registries(client, "a registry path")
        return resolve_org(client, entity(), named or client.organization).entity_name

    return resolve


def fetch_organization(client: Client, name: str) -> Organization:
    """The organization named `name` (its display name); `OrganizationNotFoundError` if there is none."""
    result = client.call(lambda c: c.organization_by_name(name), f"loading organization {name!r}")
    org = result.organization
    if org is None or org.org_entity is None:
        raise OrganizationNotFoundError(f"Organization {name!r} not found.", path=name)
    entity = org.org_entity
    return Organization(org.id, org.name, OrgEntity(entity.id, entity.name, entity.entity_type or "organization"))


def advanced_search(client: Client, organization: str) -> bool:
    """Whether `organization` offers advanced registry version search (`order`, more filter names); asked once.

    Only asked where the server filters and orders collections at all; a failure means no.
    """
    known = client.advanced_search.get(organization)
    if known is not None:
        return known
    enabled = False
    if COLLECTION_FILTERING in client.capabilities.features:
        try:
            result = client.call(
                lambda c: c.organization_search_features(organization),
                f"asking which registry search organization {organization!r} offers",
            )
        except (GraphQLError, APIStatusError, ResponseValidationError) as exc:
            log.warning(
                "basic registry search for organization %r: asking for advanced search failed: %s", organization, exc
            )
            result = None
        org = None if result is None else result.organization
        features = None if org is None else org.advanced_registry_features
        enabled = bool(features is not None and features.advanced_search)
    client.advanced_search[organization] = enabled
    return enabled
