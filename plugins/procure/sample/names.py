"""Word lists for synthetic supplier names, streets and card merchants.

Every name the generator builds comes from these lists, so none is a real company
(the card merchants excepted: real spend files show national retailers by name and
the demo needs them to look right). All strings are cp1252-safe.
"""

from __future__ import annotations

SURNAMES: tuple[str, ...] = (
    "Smith", "Barnard", "Colman", "Gurney", "Howlett", "Pointer", "Thrower",
    "Bunn", "Chapman", "Youngs", "Brundall", "Kett", "Cushion", "Loades", "Mackie",
    "Harrison", "Peck", "Bloomfield", "Fisher", "Gedge", "Spurgeon", "Lake",
    "Wells", "Hewitt", "Rix", "Sayer", "Thurtle", "Burrell", "Ling", "Dack",
    "Platten", "Riches", "Starling", "Tuck", "Woodhouse", "Ward", "Jarvis",
    "Knights", "Moore", "Bailey", "Carter", "Durrant", "Edwards", "Fuller",
    "Goldsmith", "Hammond", "Ives", "Jermy", "Kerrison", "Long", "Mann",
    "Nobbs", "Oakes", "Page", "Quinton", "Reeve", "Sutton", "Tooke", "Utting",
    "Vincent", "Warnes", "Yaxley", "Aldous", "Boswell", "Crane", "Dye", "Eke",
)
FORENAMES: tuple[str, ...] = (
    "John", "David", "Peter", "Sarah", "Helen", "Mark", "Paul", "James",
    "Claire", "Andrew", "Robert", "Susan", "Michael", "Karen", "Richard", "Emma",
)
# Place and landmark words that make a supplier sound East Anglian or national.
PLACES_LOCAL: tuple[str, ...] = (
    "Norwich", "Norfolk", "Anglia", "Broadland", "Wensum", "Yare", "Waveney",
    "Eastern", "East Anglian", "Breckland", "Bure", "Mousehold", "Thorpe",
    "Costessey", "Hellesdon", "Sprowston", "Wymondham", "Tas Valley", "Marriott",
    "Carrow", "Riverside", "Earlham", "Eaton",
)
PLACES_NATIONAL: tuple[str, ...] = (
    "National", "Britannia", "Albion", "Pennine", "Midland", "Capital",
    "Premier", "Sterling", "Meridian", "Apex", "Summit", "Keystone", "Vanguard",
    "Crown", "Horizon", "Pinnacle", "Cornerstone", "Evergreen", "Northgate",
    "Beacon", "Clearwater", "Ironbridge", "Lighthouse", "Oakwood", "Redwood",
)
ACRONYMS: tuple[str, ...] = (
    "ABC", "BDL", "CMS", "DRS", "EMS", "FSG", "GHL", "HPS", "JDM", "KBR",
    "LMS", "MPL", "NPS", "PSL", "RBS", "SGS", "TPS", "WRG", "4Site", "1st Choice",
)
LARGE_SUFFIXES: tuple[str, ...] = ("plc", "UK Limited", "Group Limited", "UK Ltd")
SME_SUFFIXES: tuple[str, ...] = ("Ltd", "Limited", "Ltd", "Limited", "Ltd")

VCSE_PATTERNS: tuple[str, ...] = (
    "{place} Community Foundation",
    "Age UK {place}",
    "{place} Mind",
    "{place} Citizens Advice",
    "{place} Foodbank",
    "{place} Youth Project",
    "{place} Community Trust",
    "{place} Housing Trust",
    "{place} Carers Network",
    "Friends of {place} Park",
    "{place} Arts Centre",
    "{place} Night Shelter",
    "{place} Women's Refuge",
    "{place} Credit Union",
)
VCSE_PLACES: tuple[str, ...] = (
    "Norwich", "Norfolk", "Mile Cross", "Lakenham", "Bowthorpe", "Tuckswood",
    "Heartsease", "Catton Grove", "West Earlham", "Thorpe Hamlet", "Wensum",
    "Eaton", "Mancroft", "Sewell", "Crome", "Nelson", "Bowthorpe & Clover Hill",
    "Chapel Break", "Marlpit", "North Earlham", "Larkman", "Norwich & District",
)

PUBLIC_BODIES: tuple[tuple[str, str], ...] = (
    ("Norfolk County Council", "NR1 2DH"),
    ("Broadland District Council", "NR7 0DU"),
    ("South Norfolk Council", "NR7 0DU"),
    ("Norfolk Constabulary", "NR18 0WW"),
    ("Norfolk Fire & Rescue Service", "NR1 2DH"),
    ("Great Yarmouth Borough Council", "NR30 2QF"),
)

CARD_MERCHANTS: tuple[str, ...] = (
    "AMAZON MARKETPLACE", "AMAZON.CO.UK", "AMAZON MKTPLACE PMTS", "TESCO STORES",
    "TESCO STORE 2345", "SAINSBURYS S/MKTS", "SCREWFIX DIRECT", "TOOLSTATION",
    "B&Q", "ARGOS LTD", "WH SMITH", "JOHN LEWIS", "TRAINLINE", "GREATER ANGLIA",
    "POST OFFICE COUNTER", "ROYAL MAIL", "ZOOM.US", "MICROSOFT*365", "ADOBE",
    "EVENTBRITE", "EBAY", "CURRYS", "TRAVELODGE", "PREMIER INN", "NCP CAR PARKS",
    "WICKES", "JEWSON LTD", "MORRISONS", "ASDA STORES", "LIDL GB", "BOOTS",
    "WAITROSE", "FACEBK ADS", "LINKEDIN", "CANVA", "SURVEYMONKEY", "DVLA VEHICLE TAX",
    "PAYPAL *NORFOLKPRINT", "JARROLD", "NORWICH MARKET STALL 12",
)

STREET_NAMES: tuple[str, ...] = (
    "Prince of Wales", "King", "Queen", "St Stephens", "Magdalen", "Ber",
    "Rose", "Colegate", "Mile Cross", "Sweet Briar", "Hall", "Station", "Church",
    "Mill", "High", "Victoria", "London", "Cromer", "Dereham", "Ipswich",
    "Yarmouth", "Aylsham", "Fakenham", "Vulcan", "Hurricane", "Whiffler",
    "Salhouse", "Oak", "Elm", "Meadow", "Park", "Chapel", "Brunel", "Telford",
)
STREET_KINDS: tuple[str, ...] = (
    "Road", "Street", "Way", "Lane", "Close", "Avenue", "Drive",
)
ESTATES: tuple[str, ...] = (
    "Business Park", "Industrial Estate", "Trading Estate", "Enterprise Park",
)

REDACTED_SPELLINGS: tuple[str, ...] = (
    "REDACTED - personal data",
    "Redacted",
    "REDACTED",
    "Redacted - Personal Data",
    "REDACTED PERSONAL DATA",
    "redacted",
)
