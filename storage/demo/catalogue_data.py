"""The demo catalogue: 12 categories x 25 products, as "brand|name|list price" lines.

Real brands and product lines, so questions like "how are Xiaomi phones selling"
have believable answers. Prices are plain list prices in the shop currency.
"""

CATEGORIES: dict[str, tuple[str, str]] = {
    # category: (SKU code, one-line blurb used in descriptions)
    "Phones": ("PHN", "Unlocked smartphone with full manufacturer warranty."),
    "Phone Accessories": ("ACC", "Accessory tested for everyday charging and protection."),
    "Laptops": ("LAP", "Laptop or desk accessory for work and study."),
    "Audio": ("AUD", "Headphones and speakers with rich, clear sound."),
    "Home": ("HOM", "Home appliance and furnishing for a comfortable living space."),
    "Kitchen": ("KIT", "Kitchen appliance or cookware for daily cooking and coffee."),
    "Beauty": ("BEA", "Skincare, make-up and personal care."),
    "Apparel": ("APP", "Clothing and footwear in standard sizes."),
    "Sports": ("SPT", "Sports, fitness and outdoor gear."),
    "Books": ("BOK", "Paperback edition."),
    "Food & Drink": ("FOD", "Packaged food and drink, best before date printed on pack."),
    "Toys": ("TOY", "Toys, games and consoles for kids and grown-ups."),
}

PRODUCTS: dict[str, str] = {
    "Phones": """
Apple|iPhone 15 128GB|799
Apple|iPhone 15 256GB|899
Apple|iPhone 15 Pro 256GB|1099
Apple|iPhone 15 Pro Max 512GB|1399
Samsung|Galaxy S24 128GB|799
Samsung|Galaxy S24 Ultra 256GB|1299
Samsung|Galaxy A55 128GB|449
Samsung|Galaxy Z Flip5 256GB|999
Xiaomi|14 Pro 256GB|699
Xiaomi|14 Pro 512GB|799
Xiaomi|Redmi Note 13 Pro 256GB|299
Xiaomi|Redmi 13C 128GB|149
Huawei|Mate 60 Pro 256GB|899
Huawei|nova 12 256GB|399
Huawei|Pura 70 256GB|749
OPPO|Find X7 256GB|649
OPPO|Reno 11 256GB|429
vivo|X100 Pro 256GB|749
vivo|Y36 128GB|219
Google|Pixel 8 128GB|699
Google|Pixel 8 Pro 256GB|999
OnePlus|12 256GB|799
OnePlus|Nord 3 128GB|399
Honor|Magic6 Pro 512GB|899
Honor|X9b 256GB|329
""",
    "Phone Accessories": """
Apple|20W USB-C Power Adapter|19
Xiaomi|67W Turbo Charger|29
Anker|65W GaN Charger|45
Samsung|25W Super Fast Charger|19
Apple|iPhone 15 Clear Case with MagSafe|49
Apple|iPhone 15 Silicone Case|49
Xiaomi|14 Pro Silicone Case|19
Xiaomi|14 Pro Leather Case|29
Samsung|Galaxy S24 Clear Case|19
Huawei|Mate 60 Pro Protective Case|25
Spigen|Tough Armor Case|25
OtterBox|Defender Series Case|49
Spigen|Tempered Glass Screen Protector|12
ESR|Tempered Glass Screen Protector 2-Pack|10
Baseus|20000mAh Power Bank|39
Anker|PowerCore 10000 Power Bank|25
Baseus|Magnetic Wireless Power Bank|45
Ugreen|USB-C to USB-C Cable 2m|9
Ugreen|USB-C to Lightning Cable 1m|9
Belkin|MagSafe Car Vent Mount|39
Belkin|BoostCharge Wireless Charging Pad|29
Anker|3-in-1 Wireless Charging Station|79
PopSockets|Phone Grip|12
Ugreen|Adjustable Phone Stand|15
Xiaomi|Selfie Stick Tripod|19
""",
    "Laptops": """
Apple|MacBook Air 13 M3|1099
Apple|MacBook Pro 14 M3|1599
Lenovo|ThinkPad X1 Carbon Gen 11|1499
Lenovo|Legion 5 Pro|1299
Lenovo|Yoga Slim 7|899
Dell|XPS 13|1199
Dell|Inspiron 15|599
HP|Spectre x360 14|1299
HP|Pavilion 15|649
ASUS|ZenBook 14 OLED|899
ASUS|ROG Zephyrus G14|1599
Huawei|MateBook X Pro|1399
Xiaomi|RedmiBook Pro 15|799
Microsoft|Surface Laptop 5|999
Acer|Swift Go 14|699
Logitech|MX Master 3S Mouse|99
Logitech|MX Keys Keyboard|109
Tomtoc|14-inch Laptop Sleeve|29
Ugreen|USB-C Hub 7-in-1|39
Samsung|T7 Portable SSD 1TB|99
Dell|27 USB-C Monitor|349
Xiaomi|Mi Monitor 27|199
Lenovo|ThinkPad USB-C Dock|199
Razer|Basilisk V3 Mouse|59
Keychron|K2 Mechanical Keyboard|89
""",
    "Audio": """
Apple|AirPods Pro 2|249
Apple|AirPods 3|179
Sony|WH-1000XM5 Headphones|399
Sony|WF-1000XM5 Earbuds|299
Bose|QuietComfort Ultra Headphones|429
Bose|SoundLink Flex Speaker|149
JBL|Flip 6 Speaker|129
JBL|Charge 5 Speaker|179
JBL|Tune 520BT Headphones|49
Xiaomi|Redmi Buds 5|29
Huawei|FreeBuds Pro 3|199
Edifier|R1280T Bookshelf Speakers|99
Sennheiser|Momentum 4 Wireless|349
Beats|Studio Pro|349
Marshall|Emberton II Speaker|169
Anker|Soundcore Life Q30|79
Samsung|Galaxy Buds2 Pro|229
Shure|MV7 Microphone|249
Audio-Technica|ATH-M50x Headphones|149
Sonos|Era 100 Speaker|249
Xiaomi|Smart Speaker|49
Amazon|Echo Dot 5th Gen|49
Skullcandy|Dime 3 Earbuds|29
Edifier|W820NB Headphones|59
OnePlus|Buds 3|99
""",
    "Home": """
Dyson|V15 Detect Cordless Vacuum|749
Xiaomi|Robot Vacuum S10|299
iRobot|Roomba i3|349
Xiaomi|Air Purifier 4 Pro|199
Philips|Air Purifier 3000i|299
Midea|Tower Fan|79
Dyson|Pure Cool Fan|549
Deerma|Ultrasonic Humidifier|39
Philips|Hue White and Color Starter Kit|179
Xiaomi|Smart LED Bulb|15
Nordic Home|Linen Bedding Set|89
MUJI|Aroma Diffuser|59
Simmons|Memory Foam Pillow|69
Xiaomi|Mijia Smart Door Lock|249
Ring|Video Doorbell|99
Nordic Home|Blackout Curtains|49
Philips|Steam Iron|59
Midea|Dehumidifier 20L|199
Xiaomi|Mijia Desk Lamp|39
Bissell|Carpet Cleaner|229
Nordic Home|Knitted Throw Blanket|35
Shark|Handheld Vacuum|129
Midea|Space Heater|69
Xiaomi|Temperature and Humidity Sensor|15
MUJI|Storage Box Set|29
""",
    "Kitchen": """
De'Longhi|Dedica Espresso Machine|299
Nespresso|Vertuo Coffee Machine|199
Nespresso|Aeroccino 3 Milk Frother|99
Philips|Airfryer XXL|249
Midea|Rice Cooker 5L|79
Zojirushi|Induction Rice Cooker|199
Joyoung|Soymilk Maker|99
Vitamix|E310 Blender|349
Xiaomi|Mijia Electric Kettle|29
Zwilling|Chef Knife 8-inch|99
Zwilling|Knife Block Set|299
Le Creuset|Dutch Oven 5.5qt|419
Tefal|Non-stick Frying Pan 28cm|39
Supor|Iron Wok|59
Instant Pot|Duo 7-in-1|99
KitchenAid|Artisan Stand Mixer|449
Breville|2-Slice Toaster|79
Bear|Yogurt Maker|29
Brita|Water Filter Jug|35
OXO|Good Grips Measuring Set|19
Lock&Lock|Food Container Set|29
Hario|V60 Coffee Dripper|25
Baratza|Encore Coffee Grinder|149
Midea|Microwave Oven|119
Thermos|Vacuum Flask 500ml|29
""",
    "Beauty": """
Lancôme|Advanced Génifique Serum|115
Estée Lauder|Advanced Night Repair|110
SK-II|Facial Treatment Essence|185
Shiseido|Ultimune Power Infusing Concentrate|90
L'Oréal|Revitalift Day Cream|29
La Roche-Posay|Anthelios SPF50 Sunscreen|25
Clinique|Moisture Surge 100H|45
Perfect Diary|Animal Eyeshadow Palette|19
Florasis|Carved Lipstick|29
Florasis|Loose Setting Powder|25
MAC|Ruby Woo Lipstick|22
Dior|Sauvage Eau de Toilette|115
Chanel|Coco Mademoiselle|135
The Ordinary|Niacinamide 10% Serum|9
Kiehl's|Ultra Facial Cream|38
Winona|Soothing Repair Cream|35
Proya|Double Anti Essence|45
Olay|Regenerist Cream|32
Dyson|Supersonic Hair Dryer|429
Philips|Sonicare Electric Toothbrush|89
Braun|Series 7 Shaver|179
Laneige|Water Sleeping Mask|32
Innisfree|Green Tea Seed Serum|27
Bioderma|Sensibio H2O Micellar Water|15
Pechoin|Hydrating Toner|15
""",
    "Apparel": """
Uniqlo|Ultra Light Down Jacket|79
Uniqlo|AIRism Cotton T-Shirt|15
Uniqlo|Heattech Crew Neck|19
Nike|Dri-FIT Running Tee|35
Nike|Air Force 1 '07|110
Adidas|Ultraboost 22|180
Adidas|Essentials Hoodie|55
Li-Ning|Way of Wade Sneakers|129
Anta|KT Basketball Shoes|119
Levi's|501 Original Jeans|69
Zara|Wool Blend Coat|149
H&M|Slim Fit Chinos|29
The North Face|Nuptse Jacket|299
Bosideng|Down Parka|259
Lululemon|Align Leggings|98
Converse|Chuck Taylor All Star|60
New Balance|574 Sneakers|89
MUJI|Organic Cotton Shirt|39
Semir|Casual Jacket|49
Peacebird|Knit Sweater|59
Columbia|Waterproof Rain Jacket|129
Ralph Lauren|Classic Polo Shirt|98
Calvin Klein|Boxer Briefs 3-Pack|42
Skechers|Go Walk Shoes|65
Heilan Home|Dress Shirt|35
""",
    "Sports": """
Decathlon|Yoga Mat 8mm|25
Keep|Smart Jump Rope|19
Bowflex|Adjustable Dumbbells|349
Yonex|Astrox Badminton Racket|159
Li-Ning|Badminton Shuttlecocks 12-Pack|19
Wilson|Evolution Basketball|69
Spalding|NBA Street Basketball|35
Garmin|Forerunner 265|449
Huawei|Watch GT 4|249
Xiaomi|Smart Band 8|39
Fitbit|Charge 6|159
ASICS|Gel-Kayano 30|160
Nike|Pegasus 40|130
Hydro Flask|32oz Water Bottle|45
Decathlon|2-Person Camping Tent|79
Coleman|Sleeping Bag|49
Giant|Escape 3 Bike|499
Giro|Bike Helmet|59
Speedo|Swim Goggles|19
TRX|Suspension Trainer|169
Therabody|Theragun Mini|199
Decathlon|Foam Roller|25
Decathlon|Kettlebell 16kg|49
Keep|Resistance Bands Set|19
DHS|Table Tennis Paddle|29
""",
    "Books": """
Tor Books|The Three-Body Problem|12
Penguin|Atomic Habits|18
Harper|Sapiens|16
Harriman House|The Psychology of Money|15
Yilin Press|To Live (活着)|8
People's Literature|Fortress Besieged (围城)|9
People's Literature|Dream of the Red Chamber (红楼梦)|25
Random House|Educated|14
FSG|Thinking, Fast and Slow|17
Grand Central|Deep Work|15
CITIC Press|The Wandering Earth|12
Simon & Schuster|Principles|22
Crown|Becoming|19
Bloomsbury|Harry Potter Box Set|69
Mariner|The Little Prince|9
Simon & Schuster|Steve Jobs|18
Pearson|Clean Code|39
No Starch Press|Python Crash Course|35
Crown|The Lean Startup|16
Crown|Zero to One|15
Harper|One Hundred Years of Solitude|14
Beijing October|Ordinary World (平凡的世界)|29
PublicAffairs|Good Economics for Hard Times|18
Lonely Planet|Lonely Planet China|29
Penguin|The Art of War|9
""",
    "Food & Drink": """
Lavazza|Espresso Beans 1kg|19
Illy|Classico Ground Coffee|12
Starbucks|Pike Place Whole Beans|12
Nespresso|Vertuo Pods 30-Pack|35
West Lake|Longjing Green Tea 250g|49
Anxi|Tieguanyin Oolong 250g|39
Menghai|Pu'er Tea Cake 357g|59
Three Squirrels|Mixed Nuts Gift Box|29
Bestore|Dried Mango|9
Mengniu|Pure Milk 24-Pack|15
Yili|Yogurt 12-Pack|12
Lindt|Excellence Dark Chocolate|4
Ferrero|Rocher 24-Pack|15
Kweichow Moutai|Feitian 53% 500ml|399
Wuliangye|52% Baijiu 500ml|159
Tsingtao|Beer 24-Pack|29
Yanjing|Beer 12-Pack|15
Lee Kum Kee|Oyster Sauce|5
Lao Gan Ma|Chili Crisp|4
Kirkland|Extra Virgin Olive Oil 2L|25
Nongfu Spring|Water 24-Pack|9
Wahaha|AD Calcium Milk 20-Pack|8
Häagen-Dazs|Mooncake Gift Box|69
Oreo|Family Pack|6
Kellogg's|Corn Flakes|5
""",
    "Toys": """
LEGO|Technic Porsche 911|169
LEGO|City Police Station|99
LEGO|Star Wars Millennium Falcon|169
LEGO|Friends Heartlake Cafe|39
Pop Mart|Molly Blind Box|12
Pop Mart|Labubu Blind Box|15
Mattel|Barbie Dreamhouse|199
Hot Wheels|Ultimate Garage|129
Nerf|Elite 2.0 Blaster|29
Rubik's|Cube 3x3|12
Play-Doh|Kitchen Creations Set|25
Hasbro|Monopoly Classic|25
Mattel|UNO Card Game|8
Nintendo|Switch OLED|349
Nintendo|Mario Kart 8 Deluxe|59
Sony|PlayStation 5 Slim|499
DJI|Mini 4 Pro Drone|759
Xiaomi|Robot Builder Kit|59
Melissa & Doug|Wooden Jigsaw Puzzle|19
Fisher-Price|Baby Gym|59
Jellycat|Bashful Bunny|29
Squishmallows|12-inch Plush|19
Crayola|Inspiration Art Case|25
Hape|Wooden Railway Set|69
Magformers|Magnetic Tiles Set|59
""",
}

# Products that are bought together: (anchor, [accessories bought within days]).
BUNDLES: list[tuple[str, list[str]]] = [
    ("Xiaomi 14 Pro 256GB", ["Xiaomi 14 Pro Silicone Case", "Xiaomi 67W Turbo Charger"]),
    ("Apple iPhone 15 128GB", ["Apple iPhone 15 Clear Case with MagSafe", "Apple 20W USB-C Power Adapter"]),
    ("Lenovo ThinkPad X1 Carbon Gen 11", ["Tomtoc 14-inch Laptop Sleeve", "Logitech MX Master 3S Mouse"]),
    ("De'Longhi Dedica Espresso Machine", ["Lavazza Espresso Beans 1kg", "Nespresso Aeroccino 3 Milk Frother"]),
]
