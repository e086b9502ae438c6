"""The filter builder produces the proto's JSON shape."""
from clipdb import Field, Filter, HasId
from clipdb.filters import to_proto_filter


def test_builder_shapes() -> None:
    f = Filter.must(Field("colour") == "red", Field("year").range(gte=2020))
    assert f.to_dict() == {"must": [{"key": "colour", "equals": "red"},
                                    {"key": "year", "range": {"gte": 2020}}]}
    g = f.must_not(HasId(["a"])).should(Field("t").text("cat"), Field("x").is_empty())
    assert g.to_dict()["mustNot"] == [{"hasId": {"ids": ["a"]}}]
    assert len(g.to_dict()["should"]) == 2 and len(f.to_dict()) == 1
    assert (Field("a") < 3).to_dict() == {"key": "a", "range": {"lt": 3}}
    nested = Filter(should=[Filter.must(Field("a") == 1), ~(Field("b") == 2)])
    pf = to_proto_filter(nested)
    assert pf is not None and pf.should[0].filter.must[0].key == "a"
    assert pf.should[1].filter.must_not[0].equals.number_value == 2
    assert to_proto_filter({"must_not": [{"key": "k", "any": {"values": [1, "x"]}}]}) is not None
