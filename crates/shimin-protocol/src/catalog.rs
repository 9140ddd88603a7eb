//! Directory and catalogue records synced to the desk: units, users, matters, calendar.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use shimin_domain::calendar::{CalendarData, YearSchedule};

/// A unit (单位): county department (部门) or township (乡镇).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub id: i64,
    pub name: String,
    #[serde(with = "crate::coded")]
    pub kind: shimin_domain::role::UnitKind,
    pub site_id: i64,
}

/// A site: the county service center, a sub-center or a township convenience center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: i64,
    pub name: String,
}

/// An office user as colleagues see them (for A/B routing and history), no secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Colleague {
    pub id: i64,
    pub display_name: String,
    #[serde(with = "crate::coded")]
    pub role: shimin_domain::role::Role,
    pub unit_id: Option<i64>,
    /// R-AB: who acts as A follows from it.
    #[serde(with = "crate::coded")]
    pub presence: shimin_domain::ladder::Presence,
}

/// A matter (事项) of the catalogue (事项数据库, §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matter {
    pub id: i64,
    /// Catalogue code, e.g. `GA-001`.
    pub code: String,
    pub name: String,
    pub unit_id: i64,
    /// Promised limit (承诺时限) in working days.
    pub promised_days: u32,
    /// Required materials (申请材料), in the order of the service guide.
    pub materials: Vec<String>,
    /// Fee in fen (分); 0 = free.
    pub fee_fen: i64,
    /// A-role clerk (A角).
    pub a_clerk_id: Option<i64>,
    /// B-role clerk (B角).
    pub b_clerk_id: Option<i64>,
}

/// One year of the holiday schedule (wire mirror of `shimin_domain::calendar::YearSchedule`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearScheduleWire {
    pub year: i32,
    pub official: bool,
    pub holidays: Vec<NaiveDate>,
    pub makeup_workdays: Vec<NaiveDate>,
    pub source: String,
}

/// A working session of a day (wire mirror of `shimin_domain::calendar::Session`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SessionWire {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// The versioned working-time calendar the server distributes (R-CAL): the national schedule.
/// Office hours are the default (Handan) sessions for every site for now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarWire {
    pub version: u32,
    pub years: Vec<YearScheduleWire>,
}

impl CalendarWire {
    /// The wire form of national calendar data.
    pub fn from_data(data: &CalendarData) -> CalendarWire {
        CalendarWire {
            version: data.version,
            years: data
                .years
                .iter()
                .map(|y| YearScheduleWire {
                    year: y.year,
                    official: y.official,
                    holidays: y.holidays.clone(),
                    makeup_workdays: y.makeup_workdays.clone(),
                    source: y.source.clone(),
                })
                .collect(),
        }
    }

    /// The national calendar data (not validated: build a `WorkCalendar` for that).
    pub fn to_data(&self) -> CalendarData {
        CalendarData {
            version: self.version,
            years: self
                .years
                .iter()
                .map(|y| YearSchedule {
                    year: y.year,
                    official: y.official,
                    holidays: y.holidays.clone(),
                    makeup_workdays: y.makeup_workdays.clone(),
                    source: y.source.clone(),
                })
                .collect(),
        }
    }
}
