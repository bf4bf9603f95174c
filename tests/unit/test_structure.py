"""Tests of the per-room structure tracker: type nesting depth and pending structs."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from crdtpad.errors import UpdateRejected
from crdtpad.sync.protocol import read_state_vector
from crdtpad.sync.structure import Structure
from crdtpad.sync.validate import ID, Block, GcRange, ItemRef, UpdateLimits, UpdateShape, validate_update

LIMITS = UpdateLimits()


def shape_of(data: bytes) -> UpdateShape:
    return validate_update(data, LIMITS)


def feed(structure: Structure, data: bytes, *, incremental: bool = True) -> None:
    structure.commit(structure.admit(shape_of(data), incremental=incremental))


def state_vector(doc: Doc[Any]) -> dict[int, int]:
    return read_state_vector(doc.get_state())


def nest_once(
    container: Array[Any] | Map[Any], kind: type[Array[Any]] | type[Map[Any]]
) -> Array[Any] | Map[Any]:
    """Put a new empty shared type of ``kind`` into ``container`` and return it, integrated."""
    if isinstance(container, Array):
        container.append(kind())
        child = container[len(container) - 1]
    else:
        container["k"] = kind()
        child = container["k"]
    assert isinstance(child, Array | Map)
    return child


def nested_updates(
    levels: int, kind: type[Array[Any]] | type[Map[Any]] = Array
) -> tuple[Doc[Any], list[bytes]]:
    """A doc with ``levels`` shared types nested in a root, and the one update per level that built it."""
    doc: Doc[Any] = Doc()
    container: Array[Any] | Map[Any] = doc.get("root", type=kind)
    updates = []
    for _ in range(levels):
        state = doc.get_state()
        container = nest_once(container, kind)
        updates.append(doc.get_update(state))
    return doc, updates


def test_text_root_structure_is_known_after_one_keystroke() -> None:
    structure = Structure()
    feed(structure, bytes.fromhex("01 01 01 00 04 01 01 74 01 61 00"))
    assert structure.state(1) == 1
    assert structure.state(2) == 0
    assert structure.max_type_depth == 0
    assert structure.pending_count == 0


# -- nesting depth --


@pytest.mark.parametrize("kind", [Array, Map])
def test_nesting_one_level_per_update_stops_at_65(kind: type[Array[Any]] | type[Map[Any]]) -> None:
    _, updates = nested_updates(65, kind)
    structure = Structure()
    for data in updates[:64]:
        feed(structure, data)
    assert structure.max_type_depth == 64
    with pytest.raises(UpdateRejected) as info:
        structure.admit(shape_of(updates[64]), incremental=True)
    assert info.value.kind == "type_depth"
    assert structure.max_type_depth == 64


def test_nesting_in_one_update_stops_at_65() -> None:
    doc64, _ = nested_updates(64)
    structure = Structure()
    feed(structure, doc64.get_update(), incremental=False)
    assert structure.max_type_depth == 64
    doc65, _ = nested_updates(65)
    with pytest.raises(UpdateRejected) as info:
        Structure().admit(shape_of(doc65.get_update()), incremental=False)
    assert info.value.kind == "type_depth"


def test_nesting_by_full_state_updates_stops_at_65() -> None:
    doc: Doc[Any] = Doc()
    container: Array[Any] | Map[Any] = doc.get("root", type=Array)
    structure = Structure()
    for _ in range(64):
        container = nest_once(container, Array)
        feed(structure, doc.get_update(), incremental=False)  # everything, mostly known already
    assert structure.max_type_depth == 64
    assert structure.run_count(doc.client_id) == 64
    nest_once(container, Array)
    with pytest.raises(UpdateRejected) as info:
        structure.admit(shape_of(doc.get_update()), incremental=False)
    assert info.value.kind == "type_depth"


def test_nesting_next_to_an_existing_item_inherits_the_depth() -> None:
    doc: Doc[Any] = Doc()
    container: Array[Any] = doc.get("root", type=Array)
    structure = Structure()
    inherited = 0
    for level in range(1, 66):
        state = doc.get_state()
        container.append("x")
        feed(structure, doc.get_update(state))
        state = doc.get_state()
        container.append(Array())  # right after "x": written with an origin and no parent
        data = doc.get_update(state)
        shape = shape_of(data)
        (item,) = shape.structs
        assert isinstance(item, ItemRef) and item.is_type
        inherited += item.parent is None
        if level == 65:
            with pytest.raises(UpdateRejected) as info:
                structure.admit(shape, incremental=True)
            assert info.value.kind == "type_depth"
        else:
            structure.commit(structure.admit(shape, incremental=True))
        container = container[len(container) - 1]
        assert isinstance(container, Array)
    assert inherited == 65
    assert structure.max_type_depth == 64


def test_depth_limit_is_configurable() -> None:
    _, updates = nested_updates(3)
    structure = Structure(max_depth=2)
    feed(structure, updates[0])
    feed(structure, updates[1])
    with pytest.raises(UpdateRejected):
        structure.admit(shape_of(updates[2]), incremental=True)


def test_child_of_a_known_non_type_counts_from_the_root() -> None:
    # Yrs decides what to do with such an item; the tracker only must not lose depth.
    structure = Structure()
    feed(structure, bytes.fromhex("01 01 01 00 04 01 01 74 01 61 00"))  # (1,0) is a character
    shape = UpdateShape((Block(2, 0, 1),), (ItemRef(2, 0, 1, None, None, (1, 0), True),), 0)
    structure.commit(structure.admit(shape, incremental=True))
    assert structure.max_type_depth == 1


def test_inherited_depth_is_the_deeper_of_the_two_origins() -> None:
    structure = Structure()
    shape = UpdateShape(
        (Block(1, 0, 4),),
        (
            ItemRef(1, 0, 1, None, None, "m", True),  # a type at depth 1
            ItemRef(1, 1, 1, None, None, (1, 0), False),  # an item inside it
            ItemRef(1, 2, 1, None, None, "a", False),  # an item in a root
            ItemRef(1, 3, 1, (1, 2), (1, 1), None, True),  # origins in both
        ),
        0,
    )
    structure.commit(structure.admit(shape, incremental=True))
    assert structure.max_type_depth == 2


def test_origin_in_a_gc_range_counts_from_the_root() -> None:
    structure = Structure()
    shape = UpdateShape(
        (Block(1, 0, 6),),
        (GcRange(1, 0, 5, False), ItemRef(1, 5, 1, (1, 3), None, None, True)),
        0,
    )
    structure.commit(structure.admit(shape, incremental=False))
    assert structure.state(1) == 6
    assert structure.max_type_depth == 1


# -- runs --


def test_typing_5000_characters_keeps_one_run() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    structure = Structure()
    for i in range(5000):
        state = doc.get_state()
        text.insert(len(text), "abc"[i % 3])
        feed(structure, doc.get_update(state))
    assert structure.state(doc.client_id) == 5000
    assert structure.run_count(doc.client_id) == 1


def test_absorb_of_a_10000_character_doc() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    for i in range(10_000):
        text.insert(i % (len(text) + 1), "x")
    structure = Structure()
    structure.absorb(shape_of(doc.get_update()))
    assert structure.state(doc.client_id) == 10_000
    assert structure.run_count(doc.client_id) == 1
    assert structure.pending_count == 0


def test_absorb_ignores_the_limits() -> None:
    doc, _ = nested_updates(70)
    structure = Structure(max_pending=0)
    structure.absorb(shape_of(doc.get_update()))
    assert structure.max_type_depth == 70
    gap = UpdateShape((Block(5, 10, 11),), (ItemRef(5, 10, 1, None, None, "t", False),), 0)
    structure.absorb(gap)
    assert structure.pending_count == 1


# -- pending structs --


def test_out_of_order_updates_wait_then_resolve() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    updates = []
    for chunk in ("ab", "cd"):
        state = doc.get_state()
        text += chunk
        updates.append(doc.get_update(state))
    structure = Structure()
    feed(structure, updates[1], incremental=False)
    assert structure.pending_count == 1
    assert structure.state(doc.client_id) == 0
    feed(structure, updates[0], incremental=False)
    assert structure.pending_count == 0
    assert structure.state(doc.client_id) == 4


def test_dependency_on_another_client_resolves_across_updates() -> None:
    alice: Doc[Any] = Doc()
    bob: Doc[Any] = Doc()
    alice_root = alice.get("root", type=Array)
    first = nest_once(alice_root, Array)
    nest_once(first, Array)
    bob.apply_update(alice.get_update())
    state = bob.get_state()
    inner = bob.get("root", type=Array)[0][0]
    inner.append(Array())
    from_bob = bob.get_update(state)
    structure = Structure()
    feed(structure, from_bob, incremental=False)
    assert structure.pending_count == 1
    assert structure.max_type_depth == 0
    feed(structure, alice.get_update(), incremental=False)
    assert structure.pending_count == 0
    assert structure.max_type_depth == 3
    assert structure.state(bob.client_id) == 1


def test_dependency_later_in_the_same_update_resolves() -> None:
    low: Doc[Any] = Doc(client_id=1)
    high: Doc[Any] = Doc(client_id=2)
    container: Array[Any] | Map[Any] = low.get("root", type=Array)
    for _ in range(3):
        container = nest_once(container, Array)
    high.apply_update(low.get_update())
    container = high.get("root", type=Array)[0][0][0]
    nest_once(container, Array)
    shape = shape_of(high.get_update())
    assert [b.client for b in shape.blocks] == [2, 1]  # the dependent block comes first
    structure = Structure()
    structure.commit(structure.admit(shape, incremental=False))
    assert structure.pending_count == 0
    assert structure.max_type_depth == 4


def test_gap_in_an_incremental_update_is_rejected() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    text += "ab"
    state = doc.get_state()
    text += "cd"
    with pytest.raises(UpdateRejected) as info:
        Structure().admit(shape_of(doc.get_update(state)), incremental=True)
    assert info.value.kind == "clock_gap"


def test_pending_structs_are_bounded() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    text += "a"  # never sent: everything after it waits
    updates = []
    for i in range(4):
        before = doc.get_state()
        text.insert(0 if i % 2 else len(text), "xy")
        updates.append(doc.get_update(before))
    structure = Structure(max_pending=3)
    for data in updates[:3]:
        feed(structure, data, incremental=False)
    assert structure.pending_count == 3
    with pytest.raises(UpdateRejected) as info:
        structure.admit(shape_of(updates[3]), incremental=False)
    assert info.value.kind == "pending_limit"
    assert structure.pending_count == 3
    feed(structure, doc.get_update(), incremental=False)
    assert structure.pending_count == 0
    assert structure.state(doc.client_id) == state_vector(doc)[doc.client_id]


def test_resent_pending_update_is_not_counted_twice() -> None:
    gap = UpdateShape((Block(5, 10, 12),), (ItemRef(5, 10, 2, None, None, "t", False),), 0)
    structure = Structure()
    structure.commit(structure.admit(gap, incremental=False))
    structure.commit(structure.admit(gap, incremental=False))
    assert structure.pending_count == 1


def test_skip_is_a_hole() -> None:
    shape = UpdateShape(
        (Block(3, 0, 6),),
        (
            ItemRef(3, 0, 2, None, None, "t", False),
            GcRange(3, 2, 2, True),
            ItemRef(3, 4, 2, (3, 3), None, None, False),
        ),
        0,
    )
    structure = Structure()
    structure.commit(structure.admit(shape, incremental=False))
    assert structure.state(3) == 2
    assert structure.pending_count == 1
    fill = UpdateShape((Block(3, 2, 4),), (ItemRef(3, 2, 2, (3, 1), None, None, False),), 0)
    structure.commit(structure.admit(fill, incremental=True))
    assert structure.state(3) == 6
    assert structure.pending_count == 0


def test_resent_known_update_changes_nothing() -> None:
    doc, updates = nested_updates(3)
    structure = Structure()
    for data in updates:
        feed(structure, data)
    runs = structure.run_count(doc.client_id)
    for data in updates:
        feed(structure, data, incremental=False)
    assert structure.state(doc.client_id) == 3
    assert structure.run_count(doc.client_id) == runs
    assert structure.max_type_depth == 3


def test_admit_changes_nothing_until_commit() -> None:
    _, updates = nested_updates(2)
    structure = Structure()
    admission = structure.admit(shape_of(updates[0]), incremental=True)
    structure.admit(shape_of(updates[1]), incremental=False)  # pending on the first: discarded
    assert structure.state(next(iter(admission.states))) == 0
    assert structure.pending_count == 0
    assert structure.max_type_depth == 0
    structure.commit(admission)
    assert structure.max_type_depth == 1


def test_stale_admission_is_refused() -> None:
    _, updates = nested_updates(2)
    structure = Structure()
    first = structure.admit(shape_of(updates[0]), incremental=True)
    also_first = structure.admit(shape_of(updates[0]), incremental=True)
    structure.commit(first)
    with pytest.raises(RuntimeError):
        structure.commit(also_first)


def test_long_pending_chain_resolves_without_recursion() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    updates = []
    for i in range(3000):
        state = doc.get_state()
        text.insert(i % (len(text) + 1), "x")
        updates.append(doc.get_update(state))
    structure = Structure(max_pending=5000)
    for data in reversed(updates):
        feed(structure, data, incremental=False)
    assert structure.pending_count == 0
    assert structure.state(doc.client_id) == 3000


# -- property: random collaboration delivered in random order --

EDIT = st.tuples(
    st.integers(0, 2),  # which doc
    st.sampled_from(["type", "delete", "nest", "push", "sync"]),
    st.integers(0, 10_000),
)


def edit(docs: list[Doc[Any]], who: int, op: str, n: int) -> None:
    doc = docs[who]
    text = doc.get("t", type=Text)
    root = doc.get("root", type=Array)
    if op == "type":
        text.insert(n % (len(text) + 1), "ab"[n % 2])
    elif op == "delete" and len(text):
        del text[n % len(text)]
    elif op in ("nest", "push"):
        # Walk down a random path of nested arrays, then add an array or a value there.
        container = root
        while True:
            arrays = [child for child in container if isinstance(child, Array)]
            if not arrays or n % 3 == 0:
                break
            container = arrays[n % len(arrays)]
            n //= 3
        if op == "nest":
            container.insert(n % (len(container) + 1), Array())
        else:
            container.insert(n % (len(container) + 1), n)
    elif op == "sync":
        other = docs[n % len(docs)]
        doc.apply_update(other.get_update(doc.get_state()))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 3), st.lists(EDIT, max_size=40), st.randoms(use_true_random=False))
def test_random_collaboration_in_random_order(
    n_docs: int, edits: list[tuple[int, str, int]], rnd: random.Random
) -> None:
    docs: list[Doc[Any]] = [Doc() for _ in range(n_docs)]
    updates = []
    for who, op, n in edits:
        doc = docs[who % n_docs]
        state = doc.get_state()
        edit(docs, who % n_docs, op, n)
        if op != "sync":
            updates.append(doc.get_update(state))
    rnd.shuffle(updates)
    structure = Structure()
    for data in updates:
        shape = shape_of(data)
        structure.admit(shape, incremental=False)  # admitted and dropped: must change nothing
        structure.commit(structure.admit(shape, incremental=False))
    merged: Doc[Any] = Doc()
    for doc in docs:
        merged.apply_update(doc.get_update())
    expected = state_vector(merged)
    for client, clock in expected.items():
        assert structure.state(client) == clock
    assert structure.pending_count == 0
    absorbed = Structure()
    absorbed.absorb(shape_of(merged.get_update()))
    assert all(absorbed.state(client) == clock for client, clock in expected.items())
    assert absorbed.max_type_depth <= structure.max_type_depth


# -- property: a model of consistent histories, cut and delivered every which way --

ITEM_SPECS = st.lists(
    st.tuples(
        st.integers(0, 2),  # client
        st.integers(1, 3),  # length (types have 1)
        st.booleans(),  # is a type
        st.integers(0, 10**6),  # which container
        st.integers(0, 10**6),  # which origin in it, if any
        st.integers(0, 10**6),  # which right origin in it, if any
    ),
    min_size=1,
    max_size=30,
)


def build_history(specs: list[tuple[int, int, bool, int, int, int]]) -> tuple[list[ItemRef], dict[ID, int]]:
    """A causally consistent history of items over three clients, and the true depth of each type."""
    clients = (30, 20, 10)
    clocks = dict.fromkeys(clients, 0)
    containers: dict[str | ID, list[ItemRef]] = {"t": []}
    container_depth: dict[str | ID, int] = {"t": 0}
    items: list[ItemRef] = []
    for who, length, is_type, where, left, right in specs:
        client = clients[who]
        names = list(containers)
        container = names[where % len(names)]
        siblings = containers[container]
        origin = right_origin = None
        if siblings and left % 3:
            item = siblings[left % len(siblings)]
            origin = (item.client, item.clock + left % item.length)
        if siblings and right % 3 == 0:
            item = siblings[right % len(siblings)]
            right_origin = (item.client, item.clock + right % item.length)
        parent = None if origin or right_origin else container
        item = ItemRef(
            client, clocks[client], 1 if is_type else length, origin, right_origin, parent, is_type
        )
        clocks[client] += item.length
        items.append(item)
        siblings.append(item)
        if is_type:
            containers[(client, item.clock)] = []
            container_depth[(client, item.clock)] = container_depth[container] + 1
    return items, {key: depth for key, depth in container_depth.items() if isinstance(key, tuple)}


def pieces_of(item: ItemRef, cut: bool) -> list[ItemRef]:
    """``item``, whole or cut like Yjs cuts: later pieces have the previous clock as origin and no parent."""
    if not cut or item.length == 1:
        return [item]
    rest = [
        ItemRef(
            item.client, item.clock + j, 1, (item.client, item.clock + j - 1), item.right_origin, None, False
        )
        for j in range(1, item.length)
    ]
    return [item._replace(length=1), *rest]


def shape_from(pieces: list[ItemRef]) -> UpdateShape:
    """An update shape carrying ``pieces`` (non-overlapping per client), with Skips over the holes."""
    blocks: list[Block] = []
    structs: list[ItemRef | GcRange] = []
    for client in sorted({p.client for p in pieces}, reverse=True):
        mine = sorted((p for p in pieces if p.client == client), key=lambda p: p.clock)
        end = mine[0].clock
        for piece in mine:
            if piece.clock > end:
                structs.append(GcRange(client, end, piece.clock - end, True))
            structs.append(piece)
            end = piece.clock + piece.length
        blocks.append(Block(client, mine[0].clock, end))
    return UpdateShape(tuple(blocks), tuple(structs), 0)


def naive_states(shapes: list[UpdateShape]) -> list[tuple[dict[int, int], int]]:
    """After each shape: the known clocks per client and the deepest type, by a fixpoint over everything."""
    state: dict[int, int] = {}
    depth: dict[ID, int] = {}  # per clock: the depth of its container
    types: dict[ID, int] = {}
    pending: list[ItemRef] = []
    out = []
    for shape in shapes:
        pending += [s for s in shape.structs if isinstance(s, ItemRef)]
        progress = True
        while progress:
            progress = False
            for s in list(pending):
                known = state.get(s.client, 0)
                refs = [r for r in (s.origin, s.right_origin, s.parent) if isinstance(r, tuple)]
                if s.clock > known or any(r[1] >= state.get(r[0], 0) for r in refs):
                    continue
                pending.remove(s)
                progress = True
                if s.clock + s.length <= known:
                    continue
                if isinstance(s.parent, str):
                    parent_depth = 0
                elif isinstance(s.parent, tuple):
                    parent_depth = types.get(s.parent, 0)
                else:
                    parent_depth = max(depth[r] for r in (s.origin, s.right_origin) if r is not None)
                for clock in range(known, s.clock + s.length):
                    depth[(s.client, clock)] = parent_depth
                state[s.client] = s.clock + s.length
                if s.is_type:
                    types[(s.client, s.clock)] = parent_depth + 1
        out.append((dict(state), max(types.values(), default=0)))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ITEM_SPECS, st.data())
def test_any_delivery_of_a_consistent_history_matches_a_fixpoint_model(
    specs: list[tuple[int, int, bool, int, int, int]], data: st.DataObject
) -> None:
    items, true_depths = build_history(specs)
    n_updates = data.draw(st.integers(1, 6))
    # Every item once, whole or cut, in some update; then extra copies cut differently where they fit.
    assigned: list[list[ItemRef]] = [[] for _ in range(n_updates)]
    for item in items:
        target = assigned[data.draw(st.integers(0, n_updates - 1))]
        target += pieces_of(item, data.draw(st.booleans()))
    for item in data.draw(st.lists(st.sampled_from(items), max_size=10)):
        target = assigned[data.draw(st.integers(0, n_updates - 1))]
        for piece in pieces_of(item, data.draw(st.booleans())):
            end = piece.clock + piece.length
            if not any(
                p.client == piece.client and p.clock < end and piece.clock < p.clock + p.length
                for p in target
            ):
                target.append(piece)
    shapes = [shape_from(pieces) for pieces in assigned if pieces]
    structure = Structure(max_depth=10**6, max_pending=10**6)
    expected = naive_states(shapes)
    for shape, (state, deepest) in zip(shapes, expected, strict=True):
        structure.commit(structure.admit(shape, incremental=False))
        assert {c: structure.state(c) for c in (10, 20, 30)} == {c: state.get(c, 0) for c in (10, 20, 30)}
        assert structure.max_type_depth == deepest
    assert structure.pending_count == 0
    assert structure.max_type_depth == max(true_depths.values(), default=0)


def test_xml_elements_nest_like_other_types() -> None:
    doc: Doc[Any] = Doc()
    element: XmlFragment | XmlElement = doc.get("x", type=XmlFragment)
    for _ in range(65):
        element.children.append(XmlElement("div"))
        child = element.children[0]
        assert isinstance(child, XmlElement)
        element = child
    element.children.append(XmlText("leaf"))
    structure = Structure(max_depth=66)
    feed(structure, doc.get_update(), incremental=False)
    assert structure.max_type_depth == 66  # 65 elements, then the text inside the last
    with pytest.raises(UpdateRejected) as info:
        Structure().admit(shape_of(doc.get_update()), incremental=False)
    assert info.value.kind == "type_depth"
