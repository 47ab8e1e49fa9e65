//! Business hours: whether a person is at work now, and if not, when one will be.

use crate::dialogue::Availability;
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use std::collections::BTreeSet;

/// Opening hours per weekday (Monday first), a time zone and holidays.
#[derive(Clone, Debug)]
pub struct BusinessHours {
    pub tz: TimeZone,
    pub days: [Option<(Time, Time)>; 7],
    pub holidays: BTreeSet<Date>,
    pub wait_minutes: u32,
}

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl BusinessHours {
    /// Builds from configuration: `days` maps `mon`…`sun` to `"09:00-18:00"` or `closed`.
    pub fn parse(
        timezone: &str,
        days: &[(String, String)],
        holidays: &[String],
        wait_minutes: u32,
    ) -> Result<BusinessHours, String> {
        let tz =
            TimeZone::get(timezone).map_err(|e| format!("handoff.timezone: `{timezone}`: {e}"))?;
        let mut out = [None; 7];
        for (key, value) in days {
            let i = DAY_KEYS
                .iter()
                .position(|d| d.eq_ignore_ascii_case(key))
                .ok_or_else(|| format!("handoff.business_hours: `{key}` is not one of mon…sun"))?;
            if value.trim().eq_ignore_ascii_case("closed") {
                continue;
            }
            let (a, b) = value.split_once('-').ok_or_else(|| {
                format!("handoff.business_hours.{key}: `{value}` is not like 09:00-18:00")
            })?;
            let parse = |s: &str| {
                s.trim()
                    .parse::<Time>()
                    .map_err(|e| format!("handoff.business_hours.{key}: `{s}`: {e}"))
            };
            let (open, close) = (parse(a)?, parse(b)?);
            if open >= close {
                return Err(format!(
                    "handoff.business_hours.{key}: opens after it closes"
                ));
            }
            out[i] = Some((open, close));
        }
        let holidays = holidays
            .iter()
            .map(|h| {
                h.parse::<Date>()
                    .map_err(|e| format!("handoff.holidays: `{h}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(BusinessHours {
            tz,
            days: out,
            holidays,
            wait_minutes,
        })
    }

    /// Open now, or closed until the next opening within two weeks.
    pub fn availability(&self, now: Timestamp) -> Availability {
        let here = now.to_zoned_datetime(self.tz.clone());
        let (today, time) = (here.date(), here.time());
        for ahead in 0..14u32 {
            let Ok(date) = today.checked_add(jiff::Span::new().days(i64::from(ahead))) else {
                break;
            };
            if self.holidays.contains(&date) {
                continue;
            }
            let weekday = date.weekday().to_monday_zero_offset();
            let Some((open, close)) = self.days[weekday as usize] else {
                continue;
            };
            if ahead == 0 {
                if time >= open && time < close {
                    return Availability::Open {
                        wait_minutes: self.wait_minutes,
                    };
                }
                if time >= close {
                    continue;
                }
            }
            return Availability::Closed {
                weekday: weekday as u8,
                time: format!("{:02}:{:02}", open.hour(), open.minute()),
                days_ahead: ahead,
            };
        }
        // Never open in the next two weeks: say a person will answer, without a time.
        Availability::Open {
            wait_minutes: self.wait_minutes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> BusinessHours {
        let days: Vec<(String, String)> = [
            ("mon", "09:00-18:00"),
            ("tue", "09:00-18:00"),
            ("wed", "09:00-18:00"),
            ("thu", "09:00-18:00"),
            ("fri", "09:00-18:00"),
            ("sat", "10:00-14:00"),
            ("sun", "closed"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        BusinessHours::parse("Europe/Istanbul", &days, &["2026-12-31".into()], 5)
            .expect("valid hours")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn open_inside_hours_in_the_shops_time_zone() {
        // 2026-11-23 is a Monday; 07:30 UTC is 10:30 in Istanbul.
        assert_eq!(
            hours().availability(at("2026-11-23T07:30:00Z")),
            Availability::Open { wait_minutes: 5 }
        );
    }

    #[test]
    fn closed_says_when_people_are_back() {
        // Monday 20:00 in Istanbul: back tomorrow (Tuesday) at 09:00.
        assert_eq!(
            hours().availability(at("2026-11-23T17:00:00Z")),
            Availability::Closed {
                weekday: 1,
                time: "09:00".into(),
                days_ahead: 1
            }
        );
        // Saturday 15:00: Sunday is closed, so Monday.
        assert_eq!(
            hours().availability(at("2026-11-28T12:00:00Z")),
            Availability::Closed {
                weekday: 0,
                time: "09:00".into(),
                days_ahead: 2
            }
        );
        // Early on a Monday: today at 09:00.
        assert_eq!(
            hours().availability(at("2026-11-23T04:00:00Z")),
            Availability::Closed {
                weekday: 0,
                time: "09:00".into(),
                days_ahead: 0
            }
        );
        // New Year's Eve (a Thursday) is a holiday: Friday.
        assert_eq!(
            hours().availability(at("2026-12-31T08:00:00Z")),
            Availability::Closed {
                weekday: 4,
                time: "09:00".into(),
                days_ahead: 1
            }
        );
    }

    #[test]
    fn bad_configuration_is_refused_with_a_reason() {
        let bad = |day: &str, v: &str| {
            BusinessHours::parse("Europe/Istanbul", &[(day.into(), v.into())], &[], 5).unwrap_err()
        };
        assert!(bad("mon", "9-18").contains("handoff.business_hours.mon"));
        assert!(bad("funday", "09:00-18:00").contains("funday"));
        assert!(bad("mon", "18:00-09:00").contains("opens after"));
        assert!(BusinessHours::parse("Mars/Olympus", &[], &[], 5).is_err());
    }
}
