//! Domain enums on the wire as their stable codes (`shimin_domain`'s `code()` strings), so the
//! JSON stays what it always was while both sides hold enums: a renamed status fails to
//! compile instead of silently comparing against a stale literal.
//!
//! Use as `#[serde(with = "crate::coded")]` on a field of a [`Coded`] type. An unknown code is
//! a deserialisation error naming it; adding a code is therefore not an additive change for
//! older peers (see the version history in the crate root).

use serde::{de, Deserialize, Deserializer, Serializer};
use shimin_domain::counter::TicketStep;
use shimin_domain::identity::PersonalField;
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::ladder::Presence;
use shimin_domain::role::{Role, UnitKind};
use shimin_domain::stats::Dimension;
use shimin_domain::supervision::{CaseAction, CaseKind, CaseStage};

/// A domain enum with stable codes.
pub trait Coded: Sized + Copy {
    /// What the code names, for error messages.
    const WHAT: &'static str;
    fn code(self) -> &'static str;
    fn from_code(code: &str) -> Option<Self>;
}

macro_rules! coded {
    ($t:ty, $what:literal) => {
        impl Coded for $t {
            const WHAT: &'static str = $what;
            fn code(self) -> &'static str {
                <$t>::code(self)
            }
            fn from_code(code: &str) -> Option<Self> {
                <$t>::from_code(code)
            }
        }
    };
}

coded!(ItemKind, "item kind");
coded!(Status, "status");
coded!(Role, "role");
coded!(Presence, "presence");
coded!(UnitKind, "unit kind");
coded!(PersonalField, "personal field");
coded!(TicketStep, "ticket step");
coded!(Dimension, "dimension");
coded!(CaseStage, "case stage");
coded!(CaseAction, "case action");
coded!(CaseKind, "case kind");

pub fn serialize<T: Coded, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.code())
}

pub fn deserialize<'de, T: Coded, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let code = std::borrow::Cow::<'de, str>::deserialize(d)?;
    T::from_code(&code).ok_or_else(|| de::Error::custom(format!("unknown {} {code:?}", T::WHAT)))
}

/// `#[serde(default, with = "crate::coded::option")]` on an `Option` of a [`Coded`] type: `null`
/// (or a missing field) is `None`.
pub mod option {
    use super::Coded;
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Coded, S: Serializer>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(v.code()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Coded, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
        match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
            None => Ok(None),
            Some(code) => T::from_code(&code)
                .map(Some)
                .ok_or_else(|| de::Error::custom(format!("unknown {} {code:?}", T::WHAT))),
        }
    }
}
