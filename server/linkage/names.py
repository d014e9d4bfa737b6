"""Everyday English first names and the short forms people go by, and the street words
predecessor systems abbreviate: what lets "Bob, 4 Mill Ln" be compared with "Robert, 4 Mill
Lane". One owner: the people :mod:`server.linkage.people` prepares and the population
:mod:`server.linkage.population` makes both read these tables.
"""

from __future__ import annotations

#: A formal first name -> the short forms it is often recorded as.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "abigail": ("abbie", "abby"),
    "albert": ("bert", "al"),
    "alexander": ("alex", "sandy"),
    "alexandra": ("alex", "sandra"),
    "alfred": ("alf", "alfie"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony",),
    "arthur": ("art",),
    "barbara": ("barb", "babs"),
    "benjamin": ("ben", "benny"),
    "bernard": ("bernie",),
    "catherine": ("cath", "kate", "cathy"),
    "charles": ("charlie", "chas"),
    "christine": ("chris", "chrissie"),
    "christopher": ("chris", "kit"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("debbie", "deb"),
    "donald": ("don",),
    "dorothy": ("dot", "dottie"),
    "edward": ("ed", "eddie", "ted"),
    "eleanor": ("ellie", "nell"),
    "elizabeth": ("liz", "beth", "betty", "lizzie"),
    "frances": ("fran",),
    "francis": ("frank",),
    "frederick": ("fred", "freddie"),
    "gerald": ("gerry",),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("harry", "hal"),
    "jacqueline": ("jackie",),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jenny", "jen"),
    "jessica": ("jess",),
    "john": ("jack", "johnny"),
    "jonathan": ("jon", "jonny"),
    "joseph": ("joe",),
    "josephine": ("jo", "josie"),
    "judith": ("judy",),
    "katherine": ("kate", "kathy", "katie"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie"),
    "leonard": ("len", "lenny"),
    "margaret": ("maggie", "peggy", "meg", "margo"),
    "matthew": ("matt",),
    "michael": ("mike", "mick", "mickey"),
    "nicholas": ("nick", "nicky"),
    "patricia": ("pat", "patsy", "trish"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "philip": ("phil",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "dick", "richie"),
    "robert": ("bob", "rob", "bobby", "robbie"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam",),
    "samuel": ("sam", "sammy"),
    "stephen": ("steve",),
    "steven": ("steve",),
    "susan": ("sue", "susie"),
    "theresa": ("tess", "terri"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim",),
    "victoria": ("vicky", "tori"),
    "walter": ("walt", "wally"),
    "william": ("bill", "will", "billy", "liam"),
}

#: A short form -> the formal names it may stand for (a short form of several names, like
#: "pat", stands for each).
FORMAL_OF: dict[str, tuple[str, ...]] = {}
for _formal, _shorts in NICKNAMES.items():
    for _short in _shorts:
        FORMAL_OF[_short] = (*FORMAL_OF.get(_short, ()), _formal)


def canonical_first_name(first: str) -> str:
    """The one form that a first name and its short forms share ("bob" and "robert" ->
    "robert"); a short form of several names takes the first of them in alphabetical order,
    and a name with no short form is itself."""
    formal = FORMAL_OF.get(first)
    return min(formal) if formal else first


#: Street words as predecessor systems abbreviate them -> the whole word.
STREET_WORDS: dict[str, str] = {
    "ln": "lane",
    "rd": "road",
    "st": "street",
    "ave": "avenue",
    "av": "avenue",
    "cl": "close",
    "cres": "crescent",
    "cr": "crescent",
    "dr": "drive",
    "gdns": "gardens",
    "gr": "grove",
    "pl": "place",
    "sq": "square",
    "ter": "terrace",
    "terr": "terrace",
    "ct": "court",
    "hse": "house",
    "flt": "flat",
}
