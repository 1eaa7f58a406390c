//! The countries of ISO 3166-1, for the checkout form's country field: every alpha-2 code with
//! its English short name, plus the other names shoppers write ("USA", "Holland"), looked up
//! ignoring case, accents, punctuation, a leading "the" and "St." for "Saint".

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Every entry of ISO 3166-1, by alpha-2 code, with its English short name.
///
/// From the ISO 3166 Maintenance Agency's list as Debian's `iso-codes` (4.15) carries it.
pub const COUNTRIES: [(&str, &str); 249] = [
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei Darussalam"),
    ("BO", "Bolivia, Plurinational State of"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas"),
    ("BT", "Bhutan"),
    ("BV", "Bouvet Island"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Congo, The Democratic Republic of the"),
    ("CF", "Central African Republic"),
    ("CG", "Congo"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands (Malvinas)"),
    ("FM", "Micronesia, Federated States of"),
    ("FO", "Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "United Kingdom"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HM", "Heard Island and McDonald Islands"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IO", "British Indian Ocean Territory"),
    ("IQ", "Iraq"),
    ("IR", "Iran, Islamic Republic of"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "Korea, Democratic People's Republic of"),
    ("KR", "Korea, Republic of"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Lao People's Democratic Republic"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova, Republic of"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin (French part)"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine, State of"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russian Federation"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "Sao Tome and Principe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syrian Arab Republic"),
    ("SZ", "Eswatini"),
    ("TC", "Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TF", "French Southern Territories"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan, Province of China"),
    ("TZ", "Tanzania, United Republic of"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "United States Minor Outlying Islands"),
    ("US", "United States"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Holy See (Vatican City State)"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela, Bolivarian Republic of"),
    ("VG", "Virgin Islands, British"),
    ("VI", "Virgin Islands, U.S."),
    ("VN", "Viet Nam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

/// Other names of countries, with their codes: the common short forms of the long official
/// names above, former names, and the names people write for a country in an address.
const OTHER_NAMES: &[(&str, &str)] = &[
    ("AE", "UAE"),
    ("BA", "Bosnia"),
    ("BN", "Brunei"),
    ("BO", "Bolivia"),
    ("CC", "Cocos Islands"),
    ("CD", "Democratic Republic of the Congo"),
    ("CD", "DR Congo"),
    ("CD", "Congo-Kinshasa"),
    ("CG", "Republic of the Congo"),
    ("CG", "Congo-Brazzaville"),
    ("CI", "Ivory Coast"),
    ("CN", "People's Republic of China"),
    ("CV", "Cape Verde"),
    ("CZ", "Czech Republic"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("GB", "UK"),
    ("GB", "Great Britain"),
    ("GB", "Britain"),
    ("GB", "United Kingdom of Great Britain and Northern Ireland"),
    ("GB", "England"),
    ("GB", "Scotland"),
    ("GB", "Wales"),
    ("GB", "Northern Ireland"),
    ("GS", "South Georgia"),
    ("IR", "Iran"),
    ("KP", "North Korea"),
    ("KP", "Democratic People's Republic of Korea"),
    ("KR", "South Korea"),
    ("KR", "Republic of Korea"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("MF", "Saint Martin"),
    ("MK", "Macedonia"),
    ("MM", "Burma"),
    ("MO", "Macau"),
    ("NL", "Holland"),
    ("NL", "Kingdom of the Netherlands"),
    ("PN", "Pitcairn Islands"),
    ("PS", "Palestine"),
    ("RU", "Russia"),
    ("SH", "Saint Helena"),
    ("SK", "Slovak Republic"),
    ("SX", "Sint Maarten"),
    ("SY", "Syria"),
    ("SZ", "Swaziland"),
    ("TL", "East Timor"),
    ("TR", "Turkey"),
    ("TR", "Republic of Türkiye"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("US", "USA"),
    ("US", "United States of America"),
    ("US", "America"),
    ("VA", "Vatican"),
    ("VA", "Vatican City"),
    ("VA", "Holy See"),
    ("VE", "Venezuela"),
    ("VG", "British Virgin Islands"),
    ("VI", "US Virgin Islands"),
    ("VI", "United States Virgin Islands"),
    ("VN", "Vietnam"),
];

/// Every code and name, folded, with its code.
static INDEX: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    COUNTRIES
        .iter()
        .flat_map(|&(code, name)| [(code, code), (code, name)])
        .chain(OTHER_NAMES.iter().copied())
        .map(|(code, name)| (fold(name), code))
        .collect()
});

/// The alpha-2 code of the country `text` names: its code, its English short name or another
/// common name, in any case, with or without accents. `None` for anything else.
pub fn code_of(text: &str) -> Option<&'static str> {
    INDEX.get(&fold(text)).copied()
}

/// `text` as names are compared: lowercase, without accents, dots or apostrophes, `&` read as
/// "and", "st" as "saint", any other punctuation and runs of spaces as one space, and no
/// leading "the".
fn fold(text: &str) -> String {
    let lower: String = text.replace('&', " and ").chars().flat_map(char::to_lowercase).collect();
    let plain: String =
        lower.nfd().filter(|&c| !is_combining_mark(c) && !matches!(c, '.' | '\'' | '\u{2018}' | '\u{2019}')).collect();
    let words: Vec<&str> = plain
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| if word == "st" { "saint" } else { word })
        .collect();
    match words.split_first() {
        Some((&"the", rest)) if !rest.is_empty() => rest.join(" "),
        _ => words.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_every_code_once_in_order() {
        assert!(COUNTRIES.windows(2).all(|pair| pair[0].0 < pair[1].0), "sorted by code, no code twice");
        assert!(COUNTRIES.iter().all(|(code, _)| code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())));
        assert!(OTHER_NAMES.iter().all(|(code, _)| COUNTRIES.iter().any(|(known, _)| known == code)));
    }

    #[test]
    fn every_code_round_trips_in_any_case() {
        for (code, _) in COUNTRIES {
            assert_eq!(code_of(code), Some(code));
            assert_eq!(code_of(&code.to_lowercase()), Some(code));
            assert_eq!(code_of(&format!(" {code} ")), Some(code));
        }
    }

    #[test]
    fn every_name_resolves_to_its_own_code() {
        // A name that folded like another country's would resolve to that one's code here.
        for (code, name) in COUNTRIES.iter().chain(OTHER_NAMES) {
            assert_eq!(code_of(name), Some(*code), "{name}");
            assert_eq!(code_of(&name.to_uppercase()), Some(*code), "{name}");
        }
    }

    #[test]
    fn names_match_without_accents_case_punctuation_or_the() {
        for (text, code) in [
            ("Türkiye", "TR"),
            ("turkiye", "TR"),
            ("TURKEY", "TR"),
            ("Holland", "NL"),
            ("the Netherlands", "NL"),
            ("Côte d\u{2019}Ivoire", "CI"),
            ("cote d'ivoire", "CI"),
            ("aland islands", "AX"),
            ("Curacao", "CW"),
            ("Sao Tome & Principe", "ST"),
            ("St. Lucia", "LC"),
            ("St Kitts and Nevis", "KN"),
            ("U.S.A.", "US"),
            ("  united   states ", "US"),
            ("Great Britain", "GB"),
            ("uk", "GB"),
            ("Korea, Republic of", "KR"),
            ("Bolivia (Plurinational State of)", "BO"),
            ("Guinea Bissau", "GW"),
            ("The Gambia", "GM"),
        ] {
            assert_eq!(code_of(text), Some(code), "{text}");
        }
    }

    #[test]
    fn unknown_names_and_codes_are_refused() {
        for text in ["", "  ", "XX", "EU", "Atlantis", "Korea", "United", "the", "Germany!!1", "Deutschland"] {
            assert_eq!(code_of(text), None, "{text:?}");
        }
    }
}
