"""Who may use a registry: users and teams with a role (`Registry.members()` and its edits).

`Api.user()` and `Api.team()` find the `User` and `Team` to add; a member may also be named by
its GraphQL ID (`User:<n>` or `Entity:<n>`, base64-encoded), as wandb accepts it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, NamedTuple

from ._client import Client
from .errors import InvalidNameError, NotFoundError
from .users import User

if TYPE_CHECKING:
    from ._generated.fragments import TeamFields


class MemberRole(StrEnum):
    """A member's role in a registry."""

    ADMIN = "admin"
    """Everything a member may do, and edit the registry's settings and members."""
    MEMBER = "member"
    """Link and unlink versions, edit collections, aliases and tags."""
    VIEWER = "viewer"
    """Read: list and download."""
    RESTRICTED_VIEWER = "restricted_viewer"
    """Read, more narrowly than a viewer (where the server has the role)."""


class MemberKind(StrEnum):
    """Whether a member is a user or a team (a team is an entity)."""

    USER = "User"
    ENTITY = "Entity"
    TEAM = "Entity"


@dataclass(frozen=True)
class Team:
    """A team entity (`Api.team()`)."""

    id: str
    """The team entity's GraphQL ID."""
    name: str

    @classmethod
    def _of(cls, attrs: TeamFields) -> Team:
        return cls(attrs.id, attrs.name)


def member_role(name: str) -> MemberRole | str:
    """The `MemberRole` the server's role name stands for; a role this SDK does not know stays text."""
    try:
        return MemberRole(name)
    except ValueError:
        return name


@dataclass(frozen=True)
class UserMember:
    """A user with a role in a registry."""

    user: User
    role: MemberRole | str
    """A `MemberRole`, or the server's text for a role this SDK does not know."""
    kind: Literal[MemberKind.USER] = field(default=MemberKind.USER, init=False)


@dataclass(frozen=True)
class TeamMember:
    """A team with a role in a registry."""

    team: Team
    role: MemberRole | str
    """A `MemberRole`, or the server's text for a role this SDK does not know."""
    kind: Literal[MemberKind.ENTITY] = field(default=MemberKind.ENTITY, init=False)


Member = User | Team | UserMember | TeamMember | str
"""What names a member: a user or team (or their member entries), or a user's or team's GraphQL ID."""

MEMBER_FORM = "a User, Team, UserMember or TeamMember (Api.user(), Api.team()), or a user's or team's GraphQL ID"


class MemberId(NamedTuple):
    """A user or a team, by the kind and number its GraphQL ID encodes."""

    kind: MemberKind
    number: int

    def encode(self) -> str:
        return base64.b64encode(f"{self.kind.value}:{self.number}".encode()).decode("ascii")

    @classmethod
    def of(cls, member: Member) -> MemberId:
        """The ID of any way to name a member; `InvalidNameError` for anything else."""
        if isinstance(member, UserMember):
            member = member.user
        elif isinstance(member, TeamMember):
            member = member.team
        if isinstance(member, (User, Team)):
            member_id = member.id
        elif isinstance(member, str):
            member_id = member
        else:
            raise InvalidNameError(f"cannot name a registry member by a {type(member).__name__}", expected=MEMBER_FORM)
        try:
            kind, _, number = base64.b64decode(member_id, validate=True).decode("ascii").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            kind, number = "", ""
        if kind not in (MemberKind.USER.value, MemberKind.ENTITY.value) or not number.isdigit():
            raise InvalidNameError(f"{member_id!r} is not a user's or team's ID", expected=MEMBER_FORM)
        return cls(MemberKind(kind), int(number))


def member_ids(members: tuple[Member, ...], what: str) -> tuple[list[str], list[str]]:
    """The user IDs and the team IDs among `members` (each once, sorted); at least one member is needed."""
    if not members:
        raise TypeError(f"{what} needs at least one member")
    ids = {MemberId.of(m) for m in members}
    users = sorted(i.encode() for i in ids if i.kind is MemberKind.USER)
    teams = sorted(i.encode() for i in ids if i.kind is MemberKind.ENTITY)
    return users, teams


def find_user(client: Client, username_or_email: str) -> User | None:
    """The user with this username or email; another match of the search if none is exact; None if none."""
    result = client.call(lambda c: c.users_by_query(username_or_email), f"looking up the user {username_or_email!r}")
    found = [] if result.users is None else [e.node for e in result.users.edges if e.node is not None]
    exact = [u for u in found if username_or_email in (u.username, u.email)]
    chosen = (exact or found)[:1]
    return User._from_fields(chosen[0]) if chosen else None


def find_team(client: Client, name: str) -> Team:
    """The team entity `name`; `NotFoundError` if there is none (a user's personal entity is no team)."""
    result = client.call(lambda c: c.team_by_name(name), f"looking up the team {name!r}")
    entity = result.entity
    if entity is None or not entity.is_team:
        raise NotFoundError(f"team {name!r} not found", kind="team", path=name)
    return Team._of(entity)
