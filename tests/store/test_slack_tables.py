"""Our declaration of slack_sdk's installation and OAuth-state tables matches what its SQLAlchemy stores query,
so a slack_sdk upgrade that changes them fails here instead of at a workspace's first install."""

from __future__ import annotations

import pytest
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table

from bot.store.tables import slack_bots, slack_installations, slack_oauth_states


def shape(table: Table) -> dict[str, tuple[str, bool]]:
    return {c.name: (type(c.type).__name__, bool(c.nullable)) for c in table.columns}


@pytest.mark.parametrize(
    ("ours", "build"),
    [
        (slack_installations, SQLAlchemyInstallationStore.build_installations_table),
        (slack_bots, SQLAlchemyInstallationStore.build_bots_table),
        (slack_oauth_states, SQLAlchemyOAuthStateStore.build_oauth_states_table),
    ],
    ids=["installations", "bots", "oauth-states"],
)
def test_our_slack_tables_match_slack_sdks(ours: Table, build: object) -> None:
    """Same names, column names, types and nullability as slack_sdk's own builders make."""
    theirs = build(MetaData(), ours.name)  # type: ignore[operator]
    assert shape(ours) == shape(theirs)
