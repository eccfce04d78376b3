//! The one nodeset expander (D6): `compute[001-100]` and friends.
