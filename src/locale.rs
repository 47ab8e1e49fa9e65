//! Dates and amounts as each language writes them: `25 Kasım 2026`, `25 November 2026`,
//! and for Persian the Solar Hijri calendar in Persian digits (`۴ آذر ۱۴۰۵`), which is what
//! Iranian customers read. Pure functions, no clock.

use crate::lang::Lang;
use jiff::civil::Date;

const TR_MONTHS: [&str; 12] = [
    "Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim",
    "Kasım", "Aralık",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const FA_MONTHS: [&str; 12] = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
];

const TR_DAYS: [&str; 7] = [
    "Pazartesi",
    "Salı",
    "Çarşamba",
    "Perşembe",
    "Cuma",
    "Cumartesi",
    "Pazar",
];
const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const FA_DAYS: [&str; 7] = [
    "دوشنبه",
    "سه‌شنبه",
    "چهارشنبه",
    "پنجشنبه",
    "جمعه",
    "شنبه",
    "یکشنبه",
];

/// When people are back: `bugün saat 09:00`, `tomorrow at 09:00`, `دوشنبه ساعت ۰۹:۰۰`.
/// `weekday` counts from Monday = 0.
pub fn opens_at(lang: Lang, weekday: u8, time: &str, days_ahead: u32) -> String {
    let day = usize::from(weekday % 7);
    match (lang, days_ahead) {
        (Lang::Tr, 0) => format!("bugün saat {time}"),
        (Lang::Tr, 1) => format!("yarın saat {time}"),
        (Lang::Tr, _) => format!("{} saat {time}", TR_DAYS[day]),
        (Lang::En, 0) => format!("today at {time}"),
        (Lang::En, 1) => format!("tomorrow at {time}"),
        (Lang::En, _) => format!("on {} at {time}", EN_DAYS[day]),
        (Lang::Fa, 0) => persian_digits(&format!("امروز ساعت {time}")),
        (Lang::Fa, 1) => persian_digits(&format!("فردا ساعت {time}")),
        (Lang::Fa, _) => persian_digits(&format!("{} ساعت {time}", FA_DAYS[day])),
    }
}

/// A Gregorian date as a Solar Hijri (Jalali) year, month (1–12) and day.
pub fn jalali(date: Date) -> (i32, usize, i32) {
    const DAYS_BEFORE_MONTH: [i32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let (gy, gm, gd) = (
        i32::from(date.year()),
        date.month() as usize,
        i32::from(date.day()),
    );
    let (mut jy, gy) = if gy > 1600 {
        (979, gy - 1600)
    } else {
        (0, gy - 621)
    };
    let gy2 = if gm > 2 { gy + 1 } else { gy };
    let mut days = 365 * gy + (gy2 + 3) / 4 - (gy2 + 99) / 100 + (gy2 + 399) / 400 - 80
        + gd
        + DAYS_BEFORE_MONTH[gm - 1];
    jy += 33 * (days / 12053);
    days %= 12053;
    jy += 4 * (days / 1461);
    days %= 1461;
    if days > 365 {
        jy += (days - 1) / 365;
        days = (days - 1) % 365;
    }
    if days < 186 {
        (jy, (1 + days / 31) as usize, 1 + days % 31)
    } else {
        (jy, (7 + (days - 186) / 30) as usize, 1 + (days - 186) % 30)
    }
}

/// ASCII digits as Persian digits (and `.` as the Persian decimal separator).
pub fn persian_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x06F0 + (c as u32 - '0' as u32)).unwrap_or(c),
            '.' => '٫',
            _ => c,
        })
        .collect()
}

pub fn date(d: Date, lang: Lang) -> String {
    let month = d.month() as usize;
    match lang {
        // `format!("{day} {month} {year}")` without the formatting machinery (a reply
        // shows a date or two every time an order's status is told).
        Lang::Tr | Lang::En => {
            let months = if lang == Lang::Tr {
                &TR_MONTHS
            } else {
                &EN_MONTHS
            };
            let name = months[month - 1];
            let mut s = String::with_capacity(name.len() + 8);
            push_int(&mut s, i32::from(d.day()));
            s.push(' ');
            s.push_str(name);
            s.push(' ');
            push_int(&mut s, i32::from(d.year()));
            s
        }
        Lang::Fa => {
            let (y, m, day) = jalali(d);
            persian_digits(&format!("{day} {} {y}", FA_MONTHS[m.clamp(1, 12) - 1]))
        }
    }
}

/// Appends `n` as `Display` writes it.
fn push_int(out: &mut String, n: i32) {
    if n < 0 {
        out.push('-');
    }
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut v = n.unsigned_abs();
    loop {
        digits[len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in digits[..len].iter().rev() {
        out.push(char::from(d));
    }
}

/// An amount as the language writes it: `1.890,50` (tr), `1,890.50` (en), `۱٬۸۹۰٫۵۰` (fa);
/// whole amounts without decimals.
pub fn amount(v: f64, lang: Lang) -> String {
    let cents = (v * 100.0).round() as i64;
    let (whole, frac) = (cents.abs() / 100, cents.abs() % 100);
    let digits = whole.to_string();
    let (group, decimal) = match lang {
        Lang::Tr => ('.', ','),
        Lang::En => (',', '.'),
        Lang::Fa => ('٬', '٫'),
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let mut s = if cents < 0 {
        format!("-{grouped}")
    } else {
        grouped
    };
    if frac != 0 {
        s.push(decimal);
        s.push_str(&format!("{frac:02}"));
    }
    if lang == Lang::Fa {
        s = persian_digits(&s);
    }
    s
}

/// A sum of money: always two decimals (`349,00`, `49,90`), so every amount of a reply reads
/// the same way.
pub fn money(v: f64, lang: Lang) -> String {
    let s = amount(v, lang);
    if (v * 100.0).round() as i64 % 100 != 0 {
        return s;
    }
    let decimals = match lang {
        Lang::Tr => ",00",
        Lang::En => ".00",
        Lang::Fa => "٫۰۰",
    };
    s + decimals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i16, m: i8, day: i8) -> Date {
        Date::new(y, m, day).expect("valid date")
    }

    #[test]
    fn dates_read_as_they_did_with_format() {
        for (y, m, day) in [
            (2026, 1, 5),
            (2024, 12, 31),
            (-44, 3, 15),
            (9999, 9, 9),
            (0, 1, 1),
        ] {
            let date = d(y, m, day);
            assert_eq!(
                super::date(date, Lang::En),
                format!("{day} {} {y}", EN_MONTHS[m as usize - 1])
            );
            assert_eq!(
                super::date(date, Lang::Tr),
                format!("{day} {} {y}", TR_MONTHS[m as usize - 1])
            );
        }
        let mut s = String::new();
        for n in [0, 7, -7, 10, 2026, i32::MAX, i32::MIN] {
            s.clear();
            push_int(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn jalali_dates_match_the_calendar() {
        assert_eq!(jalali(d(2024, 3, 20)), (1403, 1, 1)); // Nowruz 1403
        assert_eq!(jalali(d(2025, 3, 21)), (1404, 1, 1)); // Nowruz 1404
        assert_eq!(jalali(d(2026, 11, 23)), (1405, 9, 2));
        assert_eq!(jalali(d(2024, 12, 31)), (1403, 10, 11));
    }

    #[test]
    fn dates_and_amounts_read_as_each_language_writes_them() {
        assert_eq!(date(d(2026, 11, 25), Lang::Tr), "25 Kasım 2026");
        assert_eq!(date(d(2026, 11, 25), Lang::En), "25 November 2026");
        assert_eq!(date(d(2026, 11, 25), Lang::Fa), "۴ آذر ۱۴۰۵");
        assert_eq!(amount(1890.5, Lang::Tr), "1.890,50");
        assert_eq!(amount(1890.5, Lang::En), "1,890.50");
        assert_eq!(amount(500.0, Lang::En), "500");
        assert_eq!(amount(49.9, Lang::Fa), "۴۹٫۹۰");
    }

    #[test]
    fn regression_amounts_read_one_way_per_language() {
        assert_eq!(money(349.0, Lang::Tr), "349,00");
        assert_eq!(money(49.9, Lang::Tr), "49,90");
        assert_eq!(money(1890.0, Lang::En), "1,890.00");
        assert_eq!(money(500.0, Lang::Fa), "۵۰۰٫۰۰");
    }
}
