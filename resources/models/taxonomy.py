from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language

from .base import HSDSModel


class Taxonomy(HSDSModel):
    """A vocabulary: needs (a tree), populations served, trafficking types."""

    NEEDS = "needs"
    POPULATIONS = "populations"
    TRAFFICKING_TYPES = "trafficking-types"

    slug = models.SlugField(unique=True, help_text="Our key for the vocabulary, e.g. 'needs'.")
    name = models.CharField(max_length=200)
    description = models.TextField()
    uri = models.URLField(blank=True)
    version = models.CharField(max_length=50, blank=True)

    class Meta:
        verbose_name_plural = "taxonomies"
        ordering = ["name"]

    def __str__(self):
        return self.name


class TaxonomyTermQuerySet(models.QuerySet):
    def of(self, taxonomy_slug):
        return self.filter(taxonomy__slug=taxonomy_slug)

    def with_descendant_ids(self, terms):
        """Ids of the given terms and of every term below them (one query over the vocabulary)."""
        wanted = {term.pk for term in terms}
        if not wanted:
            return set()
        taxonomies = {term.taxonomy_id for term in terms}
        children = {}
        for pk, parent_id in self.filter(taxonomy_id__in=taxonomies).values_list("pk", "parent_id"):
            children.setdefault(parent_id, []).append(pk)
        found, todo = set(), list(wanted)
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(children.get(current, ()))
        return found


def tree_order(terms):
    """Terms parent first, each followed by its children (by position, then name), with their depth."""
    terms = list(terms)
    present = {term.pk for term in terms}
    children = {}
    for term in terms:
        children.setdefault(term.parent_id if term.parent_id in present else None, []).append(term)

    def walk(parent_pk, depth):
        for term in sorted(children.get(parent_pk, []), key=_sibling_key):
            yield term, depth
            yield from walk(term.pk, depth + 1)

    return list(walk(None, 0))


def _sibling_key(term):
    return (term.position, term.name)


class TaxonomyTerm(HSDSModel):
    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.PROTECT, related_name="terms")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    code = models.CharField(
        max_length=100,
        validators=[
            RegexValidator(
                r"^[\w.-]+\Z",
                "Use letters, digits, hyphens, underscores and dots only (e.g. 'legal-aid' or 'BD-1800.2000').",
            )
        ],
        help_text="Short stable key used in URLs and imports, e.g. 'legal-aid' or a code such as 'BD-1800.2000'.",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    term_uri = models.URLField(blank=True)
    language = models.CharField(max_length=20, blank=True, help_text="The language of the name (HSDS).")
    position = models.PositiveIntegerField(default=0, help_text="Order among its siblings.")
    # The name in the other languages of the site, {"es": "...", "fr": "..."}: on the row itself, so the
    # pages that show terms (cards, facets, the home page) read them with no query of their own.
    name_translations = models.JSONField(
        "translated names",
        default=dict,
        blank=True,
        help_text='The name in other languages of the site, by language code, e.g. {"es": "Asesoría legal"}.',
    )

    objects = TaxonomyTermQuerySet.as_manager()

    class Meta:
        ordering = ["taxonomy__name", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["taxonomy", "code"], name="term_code_unique_in_taxonomy"),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | ~Q(parent=models.F("pk")), name="term_not_own_parent"
            ),
        ]

    def __str__(self):
        return f"{self.taxonomy.name}: {self.name}" if self.taxonomy_id else self.name

    @property
    def display_name(self):
        """The name in the visitor's language (the active one) when a curator gave it, else the name."""
        translations = self.name_translations if isinstance(self.name_translations, dict) else {}
        return translations.get(get_language() or "") or self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        if not isinstance(self.name_translations, dict) or not all(
            isinstance(name, str) for name in self.name_translations.values()
        ):
            raise ValidationError(
                {"name_translations": 'Give the names as {"language code": "name"}.'}, code="name_translations"
            )
        if self.parent_id is None:
            return
        if self.parent.taxonomy_id != self.taxonomy_id:
            raise ValidationError({"parent": "A term's parent must be in the same taxonomy."}, code="parent")
        seen, current = set(), self.parent
        while current is not None:
            if current.pk == self.pk or current.pk in seen:
                raise ValidationError({"parent": "A term cannot sit below itself."}, code="cycle")
            seen.add(current.pk)
            current = current.parent
