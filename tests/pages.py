"""A small article page shared by the HTML tests: six paragraphs of prose, nav, an aside with
a newsletter promo and a footer, so extractors and selectors have a right and a wrong block."""

PROSE = [
    "The city council voted on Tuesday to rebuild the old harbour bridge, which has been closed "
    "to traffic since the storm damaged two of its supports in the spring of last year.",
    "Engineers told the council that the repairs would take about eighteen months and that the "
    "bridge would reopen in stages, first to pedestrians and cyclists and then to cars.",
    "Residents who live near the harbour said they were relieved, because the detour through "
    "the industrial district had added almost half an hour to their daily commute to work.",
    "The mayor said the cost would be shared between the city and the regional government, "
    "and that the contract would be awarded after an open tender later in the summer.",
    "Local shop owners, who say they lost many customers while the bridge was closed, asked "
    "the council to keep the works short and to put up clear signs for the detour.",
]
SIDEBAR = "Subscribe to our newsletter for the latest deals on garden furniture and barbecue sets."
PAGE = (
    "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article>"
    + "".join(f"<p>{p}</p>" for p in PROSE)
    + f"</article><aside><p>{SIDEBAR}</p></aside><footer>Copyright 2025</footer></body></html>"
)
