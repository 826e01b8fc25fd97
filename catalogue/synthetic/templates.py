"""Sentence templates for titles, narratives, sources and metrics; `{slot}`s are filled from
words.VOCABULARY, or with the record's own words (see generate.Words)."""

from catalogue.models import Metric

TITLES = [
    "{org} {verbs} {service} with {technology}",
    "{locality} {verbs} {service} with {technology}",
    "How {org} used {technology} to {verb} {service}",
    "{Technology} for {service} in {locality}",
    "Using {technology} to {verb} {service}",
    "{org}: {service} with {technology}",
]
SUMMARIES = [
    "{org} used {technology} to {verb} {service} for {audience}.",
    "{org} used {technology} to {verb} {service} for {audience}. "
    "Processing times fell by {percent}% in the first year.",
    "A project to {verb} {service} in {locality}, using {technology}.",
    "{org} worked with {partner_kind} to {verb} {service}, after {problem} left {audience} "
    "waiting too long.",
]
CHALLENGES = [
    "{org} faced {problem} in {service}, with {audience} often waiting weeks for an answer.",
    "Demand for {service} had grown by {percent}% in five years while budgets shrank.",
    "Staff spent much of their time re-keying data between systems that did not talk to each "
    "other.",
    "Many {audience} found the old process confusing, and complaints about {service} were rising.",
    "Information about {audience} was held in {number} separate spreadsheets and case files.",
    "An inspection had criticised {problem} and the lack of reliable {data}.",
    "The existing contract for {any_service} was ending, which gave the team a chance to start "
    "again.",
    "Councillors wanted to know why {service} cost more in {locality} than in comparable areas.",
    "The pandemic exposed how dependent {service} was on {problem}.",
    "Frontline teams knew the problems well but had no time or money to fix them.",
    "Previous attempts to use {technology2} had stalled because of {problem}.",
    "Around {percent}% of contacts were simple questions that could have been answered online.",
    "Housing, health and transport teams each collected the same data about {audience} without "
    "sharing it.",
    "Schools and social workers warned that {audience} were falling through the gaps.",
    "Waiting lists for {any_service} were the longest in the region.",
]
APPROACHES = [
    "The team introduced {technology} with {partner_kind}, starting with a small pilot in one "
    "part of {locality}.",
    "User researchers interviewed {number} {audience} and mapped every step of {service}.",
    "{org} ran a {months}-week discovery, then an alpha and a beta against the service standard.",
    "{data_cap} and {data} were brought together in one platform under clear data sharing "
    "agreements.",
    "A multidisciplinary team of designers, developers, analysts and {team} worked in two-week "
    "sprints.",
    "{Technology} was used to triage requests, so that staff could focus on complex cases.",
    "The work was paid for by {funder} and overseen by a board of senior officers.",
    "Frontline staff co-designed the new process and tested prototypes with {audience}.",
    "The contract was outcome-based, so the supplier was paid for results rather than activity.",
    "The model was trained on {number} anonymised historic cases and checked for bias before use.",
    "An ethics panel reviewed how data about {audience} would be used and published its advice.",
    "The service launched alongside {technology2} and a phone line for people who could not go "
    "online.",
    "The code was published as open source, with an open API so that other councils could reuse "
    "it.",
    "Waste, benefits and council tax data were linked to give a fuller picture of need.",
    "Volunteers and {team} were trained to help {audience} use the new service.",
]
RESULTS = [
    "Processing times for {service} fell by {percent}% within {months} months.",
    "{org} estimates annual savings of £{money} from reduced manual work.",
    "Satisfaction among {audience} rose by {percent} percentage points.",
    "About {number} {audience} used the new service in its first year.",
    "Calls to the contact centre dropped by {percent}%, freeing staff for more complex cases.",
    "An independent evaluation found a modest but statistically significant improvement.",
    "Errors fell sharply and fewer decisions were overturned on appeal.",
    "The approach has since been adopted by {count_word} other public bodies.",
    "Results were mixed: take-up was lower than expected among {audience}.",
    "Staff reported spending less time on paperwork and more time with {audience}.",
    "Missed appointments fell by {percent}%, saving clinicians hundreds of hours.",
    "The data, published as open data, has been used by researchers, journalists and local "
    "businesses.",
    "The pilot ended after {months} months when funding ran out, but the platform is still used "
    "for {any_service}.",
    "There was no measurable change in outcomes for {audience}, although costs fell.",
]
LESSONS = [
    "Start small, with one service and one team, and prove the value before scaling.",
    "Involving frontline staff early made the biggest difference to adoption.",
    "Data quality was worse than expected and cleaning it took {months} months.",
    "Procurement rules slowed the project down; a framework agreement would have helped.",
    "{Technology} works best when people can still reach a human easily.",
    "Leadership support mattered more than the technology itself.",
    "The team underestimated the effort needed to train staff and change habits.",
    "Be open about what did not work: the first version of {service} confused many {audience}.",
    "Information governance needs planning from the start, not adding at the end.",
    "Measuring a baseline before launch made the results credible.",
    "Short-term funding made it hard to keep skilled people in the team.",
    "Working with {partner_kind} brought skills the organisation lacked.",
    "Accessibility testing with disabled people found problems that automated checks missed.",
    "Reusing what {count_word} other councils had built saved months of work.",
]
SOURCE_TITLES = [
    "{title}: case study",
    "Evaluation of {service} in {locality}",
    "How {org} is using {technology}",
    "{org} annual report",
    "Lessons from the {locality} {service} pilot",
]
# (label, unit, direction, lowest, highest): typical reported results.
METRICS = [
    ("Administrative costs", "%", Metric.Direction.DECREASE, 5, 40),
    ("Average processing time", "days", Metric.Direction.DECREASE, 1, 30),
    ("Calls to the contact centre", "%", Metric.Direction.DECREASE, 5, 50),
    ("User satisfaction", "%", Metric.Direction.INCREASE, 3, 30),
    ("Annual running costs", "£", Metric.Direction.DECREASE, 20_000, 2_500_000),
    ("Staff hours saved per month", "hours", Metric.Direction.INCREASE, 50, 5_000),
    ("Missed appointments", "%", Metric.Direction.DECREASE, 5, 45),
    ("Online take-up", "pp", Metric.Direction.INCREASE, 5, 40),
    ("People helped", "", Metric.Direction.INCREASE, 100, 20_000),
    ("Emergency response time", "minutes", Metric.Direction.DECREASE, 1, 15),
    ("Carbon emissions", "%", Metric.Direction.DECREASE, 2, 35),
    ("Error rate", "%", Metric.Direction.DECREASE, 5, 60),
]
BASELINES = [
    "compared with the year before launch",
    "against a matched comparison group",
    "compared with the previous system",
    "against the national average",
    "",
]
PERIODS = ["first 12 months", "first six months", "over two years", "2023-24", "2024-25", ""]
