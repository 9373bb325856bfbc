"""Vocabulary for generated pagila rows: names, places and film words in upstream's style."""

LANGUAGES = ("English", "Italian", "Japanese", "Mandarin", "French", "German")

CATEGORIES = (
    "Action", "Animation", "Children", "Classics", "Comedy", "Documentary", "Drama", "Family",
    "Foreign", "Games", "Horror", "Music", "New", "Sci-Fi", "Sports", "Travel",
)  # fmt: skip

COUNTRIES = (
    "Afghanistan", "Algeria", "American Samoa", "Angola", "Anguilla", "Argentina", "Armenia",
    "Australia", "Austria", "Azerbaijan", "Bahrain", "Bangladesh", "Belarus", "Bolivia", "Brazil",
    "Brunei", "Bulgaria", "Cambodia", "Cameroon", "Canada", "Chad", "Chile", "China", "Colombia",
    "Congo, The Democratic Republic of the", "Czech Republic", "Dominican Republic", "Ecuador",
    "Egypt", "Estonia", "Ethiopia", "Faroe Islands", "Finland", "France", "French Guiana",
    "French Polynesia", "Gambia", "Germany", "Greece", "Greenland", "Holy See (Vatican City State)",
    "Hong Kong", "Hungary", "India", "Indonesia", "Iran", "Iraq", "Israel", "Italy", "Japan",
    "Kazakstan", "Kenya", "Kuwait", "Latvia", "Liechtenstein", "Lithuania", "Madagascar",
    "Malawi", "Malaysia", "Mexico", "Moldova", "Morocco", "Mozambique", "Myanmar", "Nauru",
    "Nepal", "Netherlands", "New Zealand", "Nigeria", "North Korea", "Oman", "Pakistan",
    "Paraguay", "Peru", "Philippines", "Poland", "Puerto Rico", "Romania", "Runion",
    "Russian Federation", "Saint Vincent and the Grenadines", "Saudi Arabia", "Senegal",
    "Slovakia", "South Africa", "South Korea", "Spain", "Sri Lanka", "Sudan", "Sweden",
    "Switzerland", "Taiwan", "Tanzania", "Thailand", "Tonga", "Tunisia", "Turkey",
    "Turkmenistan", "Tuvalu", "Ukraine", "United Arab Emirates", "United Kingdom",
    "United States", "Venezuela", "Vietnam", "Virgin Islands, U.S.", "Yemen", "Yugoslavia",
    "Zambia",
)  # fmt: skip

FIRST_NAMES = (
    "Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer", "Maria", "Susan", "Margaret",
    "Dorothy", "Lisa", "Nancy", "Karen", "Betty", "Helen", "Sandra", "Donna", "Carol", "Ruth",
    "Sharon", "Michelle", "Laura", "Sarah", "Kimberly", "Deborah", "Jessica", "Shirley", "Cynthia",
    "Angela", "Melissa", "James", "John", "Robert", "Michael", "William", "David", "Richard",
    "Charles", "Joseph", "Thomas", "Christopher", "Daniel", "Paul", "Mark", "Donald", "George",
    "Kenneth", "Steven", "Edward", "Brian", "Ronald", "Anthony", "Kevin", "Jason", "Matthew",
    "Gary", "Timothy", "Jose", "Larry", "Jeffrey", "Penelope", "Nick", "Ed", "Jennifer", "Johnny",
    "Bette", "Grace", "Matthew", "Joe", "Christian", "Zero", "Karl", "Uma", "Vivien", "Cuba",
    "Fred", "Helen", "Dan", "Bob", "Lucille", "Kirsten", "Elvis", "Sandra", "Cameron", "Kevin",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Jones", "Brown", "Davis", "Miller", "Wilson", "Moore",
    "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin", "Thompson", "Garcia",
    "Martinez", "Robinson", "Clark", "Rodriguez", "Lewis", "Lee", "Walker", "Hall", "Allen",
    "Young", "Hernandez", "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker",
    "Gonzalez", "Nelson", "Carter", "Guiness", "Wahlberg", "Chase", "Davis", "Lollobrigida",
    "Nicholson", "Mostel", "Johansson", "Swank", "Gable", "Cage", "Berry", "Wood", "Bergen",
    "Olivier", "Costner", "Voight", "Torn", "Fawcett", "Tracy", "Paltrow", "Dukakis", "Bale",
    "Streep", "Crawford", "Marx", "Hopkins", "Tandy", "Kilmer", "Dench", "Hackman", "Akroyd",
)  # fmt: skip

CITY_PARTS = (
    "Al", "Ban", "Bel", "Cor", "Dal", "El", "Fen", "Gar", "Hal", "Is", "Jun", "Kar", "Lan", "Mar",
    "Nor", "Os", "Pal", "Qui", "Ros", "San", "Tal", "Ur", "Val", "Wes", "Yar", "Zan",
)  # fmt: skip
CITY_ENDS = (
    "a", "abad", "burg", "city", "dale", "era", "field", "ford", "gate", "ia", "ino", "ista",
    "kot", "mouth", "ona", "pur", "ton", "ville", "wick",
)  # fmt: skip

STREETS = (
    "Abbey", "Alamo", "Ashdod", "Augusta", "Baku", "Beira", "Buenaventura", "Carmen", "Cianjur",
    "Dadu", "Dhule", "Erzurum", "Fukuyama", "Gatineau", "Hanoi", "Idfu", "Jaroslavl", "Kabul",
    "Lilongwe", "Mandaluyong", "Nagasaki", "Oshawa", "Parbhani", "Qomsheh", "Rajkot", "Saint",
    "Tabuk", "Udaipur", "Valle", "Waskaganish", "Xiangfan", "Yamuna", "Zanzibar",
)  # fmt: skip
STREET_KINDS = ("Avenue", "Boulevard", "Drive", "Lane", "Parkway", "Place", "Street", "Way")
DISTRICTS = (
    "Alberta", "Buenos Aires", "California", "Gujarat", "Hiroshima", "Istanbul", "Jalisco",
    "Kanagawa", "Liaoning", "Maharashtra", "Nordrhein-Westfalen", "Ontario", "QLD",
    "Rio de Janeiro", "Shandong", "Texas", "Uttar Pradesh", "West Java", "Zhejiang",
)  # fmt: skip

TITLE_WORDS = (
    "Academy", "Ace", "Adaptation", "Affair", "African", "Agent", "Airplane", "Alabama", "Aladdin",
    "Alamo", "Alaska", "Alien", "Alley", "Alone", "Amadeus", "Amelie", "Analyze", "Angels",
    "Annie", "Anthem", "Apache", "Apocalypse", "Arabia", "Armageddon", "Army", "Attacks", "Badman",
    "Baked", "Ballroom", "Bang", "Barbarella", "Bear", "Beast", "Bedazzled", "Betrayed", "Bikini",
    "Bird", "Blade", "Blanket", "Blues", "Boulevard", "Bride", "Brotherhood", "Bucket", "Bull",
    "Cabin", "Caddyshack", "California", "Candles", "Canyon", "Caper", "Casablanca", "Chamber",
    "Chicago", "Chocolate", "Cider", "Clerks", "Clockwork", "Clones", "Club", "Coast", "Color",
    "Confidential", "Connecticut", "Core", "Crossroads", "Crow", "Crusade", "Cyclone", "Daddy",
    "Daisy", "Dancing", "Darkness", "Dawn", "Deer", "Desert", "Detective", "Dinosaur", "Divine",
    "Dragon", "Dream", "Dude", "Dynamite", "Eagles", "Egg", "Empire", "Enemy", "Express", "Fantasy",
    "Feud", "Fiction", "Flamingos", "Forrest", "Freedom", "Frontier", "Galaxy", "Gentlemen",
    "Ghost", "Giant", "Gladiator", "Gold", "Gorgeous", "Graffiti", "Grease", "Groundhog", "Gun",
    "Harry", "Heartbreakers", "Holiday", "Homeward", "Hurricane", "Hustler", "Idols", "Igby",
    "Impact", "Insider", "Island", "Jedi", "Jungle", "Karate", "Kiss", "Labyrinth", "Lady",
    "Legend", "Lion", "Lost", "Love", "Madness", "Magnolia", "Maiden", "Matrix", "Memento",
    "Midnight", "Mission", "Moonwalker", "Mummy", "Mystic", "Network", "Noon", "Octopus", "Oscar",
    "Outlaw", "Panther", "Paradise", "Patriot", "Pirates", "Planet", "Pocus", "Princess", "Pulp",
    "Racer", "Rage", "Rebel", "Road", "Rocky", "Rouge", "Saturday", "Secrets", "Shawshank",
    "Shepherd", "Silence", "Spirit", "Storm", "Streetcar", "Sunrise", "Superfly", "Telegraph",
    "Titanic", "Trap", "Twisted", "Unforgiven", "Vanilla", "Vertigo", "Virgin", "Wanda", "Wind",
    "Wizard", "Wonderland", "Yentl", "Zorro",
)  # fmt: skip

ADJECTIVES = (
    "Action-Packed", "Amazing", "Astounding", "Awe-Inspiring", "Beautiful", "Boring", "Brilliant",
    "Emotional", "Epic", "Fanciful", "Fast-Paced", "Insightful", "Intrepid", "Lacklusture",
    "Thoughtful", "Touching", "Unbelieveable",
)  # fmt: skip
GENRES = (
    "Character Study", "Display", "Documentary", "Drama", "Epistle", "Fable", "Panorama",
    "Reflection", "Saga", "Story", "Tale",
)  # fmt: skip
CHARACTERS = (
    "Astronaut", "Boat", "Boy", "Car", "Cat", "Composer", "Crocodile", "Database Administrator",
    "Dentist", "Dog", "Explorer", "Feminist", "Frisbee", "Girl", "Hunter", "Lumberjack",
    "Mad Cow", "Mad Scientist", "Man", "Monkey", "Moose", "Pastry Chef", "Pioneer", "Robot",
    "Secret Agent", "Shark", "Sumo Wrestler", "Teacher", "Technical Writer", "Waitress", "Woman",
)  # fmt: skip
VERBS = (
    "Battle", "Build", "Chase", "Conquer", "Defeat", "Discover", "Escape", "Face", "Find", "Fight",
    "Kill", "Meet", "Outgun", "Outrace", "Overcome", "Pursue", "Reach", "Redeem", "Sink", "Succumb",
    "Vanquish",
)  # fmt: skip
PLACES = (
    "A Baloon", "A Jet Boat", "A Manhattan Penthouse", "A Monastery", "A MySQL Convention",
    "A Shark Tank", "A U-Boat", "Ancient China", "Ancient Japan", "Australia", "Berlin", "Nigeria",
    "Soviet Georgia", "The Canadian Rockies", "The First Manned Space Station",
    "The Gulf of Mexico", "The Outback", "The Sahara Desert", "An Abandoned Amusement Park",
    "An Abandoned Fun House",
)  # fmt: skip

SPECIAL_FEATURES = ("Trailers", "Commentaries", "Deleted Scenes", "Behind the Scenes")
RATINGS = ("G", "PG", "PG-13", "R", "NC-17")
EMAIL_DOMAINS = ("sakilacustomer.org", "example.com", "mail.example.org", "sakilastaff.com")
