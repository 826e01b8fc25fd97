"""An Atom feed of newly published initiatives for any filter of the list.

`/feeds/initiatives.atom?theme=cloud&stage=pilot` selects with the list's filters (through
`InitiativeFilter.results`), always newest published first, the latest FEED_SIZE. A reader
subscribed to a filtered list hears about every case study that joins it.
"""

import re

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.views.decorators.http import require_safe

from catalogue import caching
from catalogue.filters import InitiativeFilter

FEED_SIZE = 50
# Characters XML 1.0 cannot carry at all; a search for "%00" or an imported title with a
# stray control character must not make the feed a 500.
NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text):
    return NOT_IN_XML.sub("", text)


class InitiativeFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request):
        filterset = InitiativeFilter.for_request(request)
        newest = filterset.results.with_listing().order_by("-published_at", "-pk")
        return {
            "filterset": filterset,
            "items": newest[:FEED_SIZE],
            # The filters in use, for the list page's link; the feed has its own order.
            "query": filterset.applied().urlencode(),
            "path": request.get_full_path(),
        }

    def title(self, obj):
        chosen = [chip["label"] for chip in obj["filterset"].active_filters()]
        title = f"{settings.CATALOGUE_NAME}: newly published case studies"
        return xml_safe(f"{title} ({'; '.join(chosen)})" if chosen else title)

    def subtitle(self, obj):
        text = "The latest case studies published in the catalogue"
        text += ", matching the filters in the title." if obj["query"] else "."
        if problems := obj["filterset"].problems:
            text += " Ignored: " + " ".join(problems)
        return xml_safe(text)

    def link(self, obj):
        url = reverse("initiative-list")
        return f"{url}?{obj['query']}" if obj["query"] else url

    def feed_url(self, obj):
        # The default is the path without its query string: the feed's own filters.
        return obj["path"]

    def items(self, obj):
        return obj["items"]

    def item_title(self, item):
        # Atom titles are plain text: the generator escapes them once, as XML requires.
        return xml_safe(item.title)

    def item_description(self, item):
        # An Atom summary is written with type="html", so the plain-text summary is escaped.
        return escape(xml_safe(item.summary))

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_author_name(self, item):
        # The catalogue wrote the case study; the organisation is what it is about.
        return settings.CATALOGUE_NAME

    def item_categories(self, item):
        subject = xml_safe(str(item.lead_organisation))
        return [subject, *(xml_safe(theme.name) for theme in item.themes.all())]


@require_safe
@caching.public_output
def initiative_feed(request):
    return InitiativeFeed()(request)
