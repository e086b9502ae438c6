package clipdb

import (
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/clipdb/clipdb/sdk/go/gen/clipdb/v1"
)

// Filter restricts searches, counts, deletes, scrolls and payload updates to
// the points it matches: every Must condition holds, at least one Should
// condition holds (when any are given), and no MustNot condition holds.
//
//	clipdb.Must(clipdb.Field("colour").Eq("red"), clipdb.Field("year").Gte(2020))
//	clipdb.Should(clipdb.Field("tags").Any("cat", "dog"), clipdb.HasID("a", "b")).
//		AndNot(clipdb.Field("note").IsEmpty())
//	clipdb.ParseFilter(`{"must": [{"key": "colour", "equals": "red"}]}`)
//
// A nil *Filter matches every point. Filters are values: the methods that add
// conditions return a new Filter.
type Filter struct {
	Must    []Condition
	Should  []Condition
	MustNot []Condition
}

// Condition is one test on a payload field, the point id, or a nested filter.
// Build it with Field, HasID, Not or (*Filter).Condition.
type Condition struct {
	c   *pb.Condition
	err error
}

// Must is a filter whose conditions must all hold.
func Must(conds ...Condition) *Filter { return &Filter{Must: conds} }

// Should is a filter of which at least one condition must hold.
func Should(conds ...Condition) *Filter { return &Filter{Should: conds} }

// MustNot is a filter none of whose conditions may hold.
func MustNot(conds ...Condition) *Filter { return &Filter{MustNot: conds} }

func (f *Filter) clone() *Filter {
	if f == nil {
		return &Filter{}
	}
	return &Filter{Must: append([]Condition(nil), f.Must...), Should: append([]Condition(nil), f.Should...),
		MustNot: append([]Condition(nil), f.MustNot...)}
}

// And adds conditions that must hold.
func (f *Filter) And(conds ...Condition) *Filter {
	g := f.clone()
	g.Must = append(g.Must, conds...)
	return g
}

// Or adds conditions of which at least one must hold.
func (f *Filter) Or(conds ...Condition) *Filter {
	g := f.clone()
	g.Should = append(g.Should, conds...)
	return g
}

// AndNot adds conditions that must not hold.
func (f *Filter) AndNot(conds ...Condition) *Filter {
	g := f.clone()
	g.MustNot = append(g.MustNot, conds...)
	return g
}

// Condition nests the filter as one condition of another (filters nest at
// most 8 levels deep).
func (f *Filter) Condition() Condition {
	p, err := f.Proto()
	if err != nil {
		return Condition{err: err}
	}
	if p == nil {
		p = &pb.Filter{}
	}
	return Condition{c: &pb.Condition{Match: &pb.Condition_Filter{Filter: p}}}
}

// Proto is the filter as the generated message (nil for a nil filter), or
// the first error of a condition that could not be built.
func (f *Filter) Proto() (*pb.Filter, error) {
	if f == nil {
		return nil, nil
	}
	out := &pb.Filter{}
	for _, part := range []struct {
		in  []Condition
		out *[]*pb.Condition
	}{{f.Must, &out.Must}, {f.Should, &out.Should}, {f.MustNot, &out.MustNot}} {
		for _, c := range part.in {
			if c.err != nil {
				return nil, c.err
			}
			if c.c == nil {
				return nil, invalid("Filter", "empty condition (build conditions with Field, HasID or Not)")
			}
			*part.out = append(*part.out, c.c)
		}
	}
	return out, nil
}

// ParseFilter reads a filter in the proto's JSON shape, e.g.
// {"must": [{"key": "colour", "equals": "red"}, {"key": "year", "range": {"gte": 2020}}]}
// (camelCase or snake_case keys), as the HTTP docs and other SDKs write it.
func ParseFilter(jsonText string) (*Filter, error) {
	var p pb.Filter
	if err := protojson.Unmarshal([]byte(jsonText), &p); err != nil {
		return nil, invalid("ParseFilter", "bad filter %s: %v", jsonText, err)
	}
	return FilterFromProto(&p), nil
}

// FilterFromProto wraps a generated Filter message.
func FilterFromProto(p *pb.Filter) *Filter {
	if p == nil {
		return nil
	}
	wrap := func(cs []*pb.Condition) []Condition {
		var out []Condition
		for _, c := range cs {
			out = append(out, Condition{c: proto.Clone(c).(*pb.Condition)})
		}
		return out
	}
	return &Filter{Must: wrap(p.Must), Should: wrap(p.Should), MustNot: wrap(p.MustNot)}
}

// ConditionFromProto wraps a generated Condition message.
func ConditionFromProto(c *pb.Condition) Condition { return Condition{c: c} }

// FieldRef names a payload field, dotted for nested objects ("meta.author").
// A field holding a list matches if any element matches; a point without
// the field matches none of these conditions except IsEmpty.
type FieldRef struct{ key string }

// Field refers to a payload field by key.
func Field(key string) FieldRef { return FieldRef{key} }

func (k FieldRef) cond(c *pb.Condition) Condition {
	c.Key = k.key
	return Condition{c: c}
}

// Eq: the field equals v (a string, number or bool; numbers compare as doubles).
func (k FieldRef) Eq(v any) Condition {
	val, err := structpb.NewValue(v)
	if err != nil {
		return Condition{err: invalid("Filter", "field %q: cannot compare with %T: %v", k.key, v, err)}
	}
	return k.cond(&pb.Condition{Match: &pb.Condition_Equals{Equals: val}})
}

// Ne: the field does not equal v (a point without the field matches).
func (k FieldRef) Ne(v any) Condition { return Not(k.Eq(v)) }

// Any: the field equals one of values.
func (k FieldRef) Any(values ...any) Condition {
	list := &pb.ValueList{}
	for _, v := range values {
		val, err := structpb.NewValue(v)
		if err != nil {
			return Condition{err: invalid("Filter", "field %q: cannot compare with %T: %v", k.key, v, err)}
		}
		list.Values = append(list.Values, val)
	}
	return k.cond(&pb.Condition{Match: &pb.Condition_Any{Any: list}})
}

// Bound is one end of a Range: Gt, Gte, Lt or Lte.
type Bound func(*pb.Range)

// Gt: greater than x.
func Gt(x float64) Bound { return func(r *pb.Range) { r.Gt = &x } }

// Gte: greater than or equal to x.
func Gte(x float64) Bound { return func(r *pb.Range) { r.Gte = &x } }

// Lt: less than x.
func Lt(x float64) Bound { return func(r *pb.Range) { r.Lt = &x } }

// Lte: less than or equal to x.
func Lte(x float64) Bound { return func(r *pb.Range) { r.Lte = &x } }

// Range: the field is a number within all these bounds
// (Field("year").Range(clipdb.Gte(2020), clipdb.Lt(2030))).
func (k FieldRef) Range(bounds ...Bound) Condition {
	r := &pb.Range{}
	for _, b := range bounds {
		b(r)
	}
	return k.cond(&pb.Condition{Match: &pb.Condition_Range{Range: r}})
}

// Gt: the field is a number greater than x.
func (k FieldRef) Gt(x float64) Condition { return k.Range(Gt(x)) }

// Gte: the field is a number at least x.
func (k FieldRef) Gte(x float64) Condition { return k.Range(Gte(x)) }

// Lt: the field is a number less than x.
func (k FieldRef) Lt(x float64) Condition { return k.Range(Lt(x)) }

// Lte: the field is a number at most x.
func (k FieldRef) Lte(x float64) Condition { return k.Range(Lte(x)) }

// IsEmpty: the field is missing, null or an empty list.
func (k FieldRef) IsEmpty() Condition {
	return k.cond(&pb.Condition{Match: &pb.Condition_IsEmpty{IsEmpty: &pb.IsEmpty{}}})
}

// Text: the field is a string containing every word of words, ignoring case.
func (k FieldRef) Text(words string) Condition {
	return k.cond(&pb.Condition{Match: &pb.Condition_Text{Text: words}})
}

// HasID: the point's id is one of ids.
func HasID(ids ...string) Condition {
	return Condition{c: &pb.Condition{Match: &pb.Condition_HasId{HasId: &pb.IdList{Ids: ids}}}}
}

// Not holds when c does not.
func Not(c Condition) Condition { return MustNot(c).Condition() }
