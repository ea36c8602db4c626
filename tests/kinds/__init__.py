"""One module per kind of the registry: `KIND`, a `sample` resource of that kind for the conformance suite
(tests/test_conformance.py), and the tests of what is special about the kind.

A definition kind's module also has `changed_spec()`: a spec field path and a spec that changes it, for the
suite's update test. A run or record kind's `sample` takes the name of its parent, which the suite creates
first."""
