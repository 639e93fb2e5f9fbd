"""A small knowledge base of a bicycle shop, and questions customers would ask, phrased
unlike the documents (their own words, other word forms, no headings quoted), each with the
document that answers it. Used by the retrieval-quality test and the search benchmark."""

from __future__ import annotations

DOCUMENTS: dict[str, str] = {
    "Returns and refunds": """# Returns and refunds

## Return window
Unused bikes and accessories can be returned within 30 days of delivery. Bikes must not have
been ridden outdoors and need their original packaging.

## Refunds
Once the warehouse has inspected the returned item, the refund is paid to the original
payment method within five business days.

## Return shipping
Return shipping is free for members of the Northwind Club; everyone else pays a flat fee of
15 euros, deducted from the refund.""",
    "Delivery": """# Delivery

## Delivery times
Orders placed before 2 pm are dispatched the same working day. Delivery takes two to three
working days within the country and up to ten days abroad.

## Tracking
Every parcel gets a tracking number, emailed when the courier collects it.

## Large items
Complete bicycles are delivered by a freight courier who calls ahead to agree a time slot.""",
    "Warranty": """# Warranty

## Frames
Aluminium and steel frames carry a lifetime warranty against manufacturing defects for the
first owner. Carbon frames are covered for five years.

## Components
Gears, brakes and other components are covered for two years. Wear parts such as tyres,
chains and brake pads are not covered.

## Making a claim
Send a photo of the defect and your order number through the contact form.""",
    "Bike servicing": """# Bike servicing

## Service packages
The basic service costs 49 euros and includes gear and brake adjustment. The full service
costs 119 euros and adds wheel truing, a chain replacement and a deep clean.

## Booking
Book a slot online; most services are done within 48 hours. Bring the bike to the workshop
on Canal Street.""",
    "Sizing guide": """# Sizing guide

## Frame size
Choose your frame by height: riders between 160 and 170 cm fit a small frame, 170 to 180 cm
a medium, 180 to 190 cm a large.

## Test rides
Test rides are available at the shop on Saturdays; bring a photo ID.""",
    "Payment options": """# Payment options

## Methods
We accept credit cards, PayPal and bank transfer. Cash is accepted in the shop only.

## Financing
Bikes over 500 euros can be paid in twelve interest-free monthly instalments, subject to a
credit check.""",
    "Electric bikes": """# Electric bikes

## Battery
Batteries reach full charge in about four hours and last roughly 800 charge cycles. Store
the battery indoors at room temperature over winter.

## Range
A full battery gives between 60 and 120 km of assistance depending on the mode and terrain.

## Legal limits
Motor assistance cuts out at 25 km/h, so no licence or insurance is required.""",
    "Opening hours and location": """# Opening hours and location

## Hours
The shop is open Tuesday to Saturday from 10 am to 6 pm. It is closed on Sundays, Mondays
and public holidays.

## Finding us
The shop is at 8 Canal Street, next to the railway station. Customer parking is behind the
building.""",
    "Rentals": """# Rentals

## Prices
City bikes rent for 15 euros a day and electric bikes for 35 euros a day. Weekly rentals get
a 20 percent discount.

## Deposit
A deposit of 200 euros is held on a credit card during the rental and released on return.""",
    "Accounts and orders": """# Accounts and orders

## Password
If you forgot your password, use the reset link on the sign-in page; the link is valid for
one hour.

## Changing an order
An order can be changed or cancelled until it is dispatched, from the order page in your
account.""",
    "Gift cards": """# Gift cards

Gift cards are sold in amounts from 25 to 500 euros. They never expire and can be used online
and in the shop, also for servicing.""",
    "Club membership": """# Northwind Club

## Benefits
Members get 10 percent off accessories, free return shipping and priority workshop slots.

## Joining
Membership costs 30 euros a year and can be bought at checkout.""",
}

# (question, title of the document that answers it)
QUESTIONS: list[tuple[str, str]] = [
    ("can I send back a bike I bought three weeks ago", "Returns and refunds"),
    ("how long until my money is refunded after returning", "Returns and refunds"),
    ("do I have to pay for shipping when I return something", "Returns and refunds"),
    ("when will my parcel arrive", "Delivery"),
    ("how do I track my parcel", "Delivery"),
    ("you ship to other countries? how many days", "Delivery"),
    ("is my carbon frame covered if it cracks", "Warranty"),
    ("are worn out tyres included in the guarantee", "Warranty"),
    ("how do I claim a defect", "Warranty"),
    ("what does a full tune up cost", "Bike servicing"),
    ("how quickly can you service my bike", "Bike servicing"),
    ("I am 175 cm tall, which frame should I choose", "Sizing guide"),
    ("can I try a bike before buying", "Sizing guide"),
    ("do you take paypal", "Payment options"),
    ("can I pay in monthly instalments", "Payment options"),
    ("how long does it take to charge the ebike battery", "Electric bikes"),
    ("how far can an electric bike go on one charge", "Electric bikes"),
    ("do I need insurance for an e-bike", "Electric bikes"),
    ("are you open on sunday", "Opening hours and location"),
    ("where is your shop located", "Opening hours and location"),
    ("is there parking at the store", "Opening hours and location"),
    ("how much to rent an electric bike for a day", "Rentals"),
    ("is there a deposit when renting", "Rentals"),
    ("I forgot my password", "Accounts and orders"),
    ("can I cancel my order", "Accounts and orders"),
    ("do gift cards expire", "Gift cards"),
    ("can I use a gift card for a repair", "Gift cards"),
    ("what discounts do club members get", "Club membership"),
    ("how much is the membership per year", "Club membership"),
    ("does the lifetime warranty apply to steel frames", "Warranty"),
]
