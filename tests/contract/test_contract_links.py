"""contract/refs.py and contract/links.py: the one `$ref` resolver and the one reader of the
pagination link, which the contract kit and verify-client both use (they used to parse it twice)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from contract_tests.kit import _paginated_operation
from mock_server.contract.document import build_contract, load_contract
from mock_server.contract.links import PageLink, page_link
from mock_server.contract.refs import resolve, target
from mock_server.exceptions import ContractError
from mock_server.verify.rules import Pagination, pagination

OPERATION = "listTikTokProfileVideos"
PATH = "/api/v1/get-tiktok-profile-videos"


def renamed_cursor() -> dict[str, Any]:
    """The bundled contract, its NextPage link reading the cursor from `next_cursor` instead."""
    document = copy.deepcopy(load_contract().document)
    link = document["paths"][PATH]["post"]["responses"]["200"]["links"]["NextPage"]
    link["requestBody"]["maxCursor"] = "$response.body#/next_cursor"
    return document


def test_the_vendor_link_is_read_once_for_both_users() -> None:
    contract = load_contract()
    op = contract.by_id(OPERATION)
    assert page_link(op) == PageLink("NextPage", "max_cursor", "maxCursor", ("handle",))
    assert pagination(op) == Pagination(subject="handle", cursor="maxCursor", source="max_cursor")
    assert _paginated_operation(contract)[1] == page_link(op)


def test_a_changed_link_changes_the_kit_and_verify_client_alike() -> None:
    contract = build_contract(renamed_cursor())
    op = contract.by_id(OPERATION)
    assert page_link(op) == PageLink("NextPage", "next_cursor", "maxCursor", ("handle",))
    assert pagination(op) == Pagination(subject="handle", cursor="maxCursor", source="next_cursor")
    assert _paginated_operation(contract)[1] == page_link(op)


def test_a_link_with_two_response_fields_is_not_a_page_link() -> None:
    document = renamed_cursor()
    link = document["paths"][PATH]["post"]["responses"]["200"]["links"]["NextPage"]
    link["requestBody"]["other"] = "$response.body#/has_more"
    op = build_contract(document).by_id(OPERATION)
    assert page_link(op) is None and pagination(op) is None


def test_refs_follow_chains_and_copy_only_when_asked() -> None:
    document = {
        "components": {"schemas": {"A": {"$ref": "#/components/schemas/B"}, "B": {"type": "string"}, "a~/b": 1}}
    }
    node = {"$ref": "#/components/schemas/A"}
    assert target(document, node) is document["components"]["schemas"]["B"]
    copied = resolve(document, node)
    assert copied == {"type": "string"} and copied is not document["components"]["schemas"]["B"]
    assert target(document, {"$ref": "#/components/schemas/a~0~1b"}) == 1  # JSON pointer escapes
    assert target(document, "plain") == "plain"


@pytest.mark.parametrize("ref", ["#/components/schemas/Loop", "https://example.com/other.yaml#/X"])
def test_a_circular_or_remote_ref_is_a_contract_error(ref: str) -> None:
    document = {"components": {"schemas": {"Loop": {"$ref": "#/components/schemas/Loop"}}}}
    with pytest.raises(ContractError, match="unsupported or circular"):
        target(document, {"$ref": ref})
