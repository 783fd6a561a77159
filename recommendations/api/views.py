"""The REST API's views: thin. Each parses the request, calls a selector or a service, and renders.

Reads are built by `selectors.py`; writes go through `services.py` inside one
transaction that first checks `If-Match` under a row lock (`conditions.py`).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from recommendations.api import schema, selectors
from recommendations.api.conditions import expected_version, lock_for_write, require_if_match
from recommendations.api.exceptions import OR, etag_for
from recommendations.api.filtering import FilterBackend
from recommendations.api.language import mark_language, request_language
from recommendations.api.pagination import TrackerPagination
from recommendations.api.parsers import DepthLimitedJSONParser
from recommendations.api.permissions import AUTHENTICATION_CLASSES, THROTTLE_CLASSES, ReadOpenWriteAnalyst
from recommendations.api.renderers import CSVRenderer, csv_response
from recommendations.api.serializers import (
    EvidenceInputSerializer,
    EvidenceRetractionInputSerializer,
    EvidenceSerializer,
    OwnerSerializer,
    RecommendationDetailSerializer,
    RecommendationListItemSerializer,
    RecommendationUpdateSerializer,
    SourceSerializer,
    StatusChangeInputSerializer,
    StatusChangeSerializer,
    StatusSerializer,
    ThemeSerializer,
)
from recommendations.change_counts import changes_since
from recommendations.filters import RecommendationFilterSet, StatusChangeFeedFilterSet, parse_as_of
from recommendations.models import Evidence, Recommendation, StatusChange
from recommendations.selectors import ItemListing, recommendation_story
from recommendations.services import (
    evidence_create,
    evidence_retract,
    recommendation_change_status,
    recommendation_update,
)

ERROR_FORMAT = _("Use {formats}.")
ERROR_NO_ITEM = _("No recommendation has the code {code}. Codes look like JN97-A; see /api/recommendations/.")
ERROR_NO_EVIDENCE = _("{code} has no evidence with the id {id}; see /api/recommendations/{code}/evidence/.")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")
_CSV = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="`?format=csv`: every matching row.")}


class TrackerAPIView(GenericAPIView):
    """The API's common ground: who may call, how often, in which formats; errors always in JSON."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [ReadOpenWriteAnalyst]
    throttle_classes = THROTTLE_CLASSES
    renderer_classes = [JSONRenderer]
    parser_classes = [DepthLimitedJSONParser]
    filter_backends: list = []
    pagination_class = None

    def dispatch(self, request, *args, **kwargs):
        # The whole exchange (sign-in, permissions, throttles, the view, its errors, the rendering) in the
        # language of the request's Accept-Language: the addresses under /api/ carry no language.
        language = request_language(request)
        with translation.override(language):
            response = super().dispatch(request, *args, **kwargs)
            if callable(getattr(response, "render", None)):
                response = response.render()
        return mark_language(response, language)

    def handle_exception(self, exc):
        # A CSV was asked for, but an error is a sentence for the script to read: JSON.
        if getattr(self.request, "accepted_renderer", None) is not None and not isinstance(
            self.request.accepted_renderer, JSONRenderer
        ):
            self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return super().handle_exception(exc)

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            # `?format=` names a format this endpoint does not give: say which it does.
            formats = str(OR).join(f"format={renderer.format}" for renderer in self.get_renderers())
            raise ValidationError({"format": [ERROR_FORMAT.format(formats=formats)]}) from None

    def wants_csv(self) -> bool:
        return getattr(self.request.accepted_renderer, "format", None) == "csv"

    def item_or_404(self, code: str) -> Recommendation:
        item = Recommendation.objects.filter(code=code).first() if _CODE.match(code) else None
        if item is None:
            raise NotFound(ERROR_NO_ITEM.format(code=code.replace("\x00", "")[:40]))
        return item


class ListAPIView(TrackerAPIView):
    """A paginated list that also streams as CSV (reads only: a write answers in JSON)."""

    renderer_classes = [JSONRenderer, CSVRenderer]
    pagination_class = TrackerPagination

    def get_renderers(self):
        request = getattr(self, "request", None)
        if request is not None and request.method not in ("GET", "HEAD"):
            return [JSONRenderer()]
        return super().get_renderers()

    def wants_csv(self) -> bool:
        csv = super().wants_csv()
        if csv:
            # A CSV has every row, yet a malformed page or page_size is refused (400) as in JSON.
            self.paginator.get_page_size(self.request)
            self.paginator.get_page_number(self.request, None)
        return csv


# --- the API's front door --------------------------------------------------


class ApiRootView(TrackerAPIView):
    @extend_schema(
        operation_id="api_root",
        tags=["api"],
        summary="List the API's endpoints",
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="Endpoint names and addresses."),
            **schema.errors(),
        },
    )
    def get(self, request):
        def url(name: str, **kwargs) -> str:
            return request.build_absolute_uri(reverse(f"api:{name}", kwargs=kwargs))

        item = url("recommendation-detail", code="CODE").replace("CODE", "{code}")
        return Response(
            {
                "recommendations": url("recommendation-list"),
                "recommendation": item,
                "status_changes": item + "status-changes/",
                "evidence": item + "evidence/",
                "changes": url("change-feed"),
                "themes": url("theme-list"),
                "owners": url("owner-list"),
                "sources": url("source-list"),
                "statuses": url("status-list"),
                "schema": url("schema"),
                "docs": url("docs"),
            }
        )


# --- recommendations -------------------------------------------------------


class RecommendationListView(ListAPIView):
    filter_backends = [FilterBackend]
    filterset_class = RecommendationFilterSet
    queryset = Recommendation.objects.all()

    @extend_schema(
        operation_id="recommendations_list",
        summary="List recommendations",
        description="The tracked items, filtered as on the reviewer pages (the same parameters mean the same "
        "items), in document order unless `ordering` says otherwise. With `as_of`, each item's `status` and "
        "`status_date` are those in effect on that date. " + schema.PAGE_SIZE_NOTE,
        parameters=[*schema.FILTER_PARAMETERS, *schema.PAGE_PARAMETERS, schema.FORMAT_PARAMETER],
        responses={200: RecommendationListItemSerializer(many=True), **_CSV, **schema.errors(*schema.READ_ERRORS)},
    )
    def get(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        as_of = self.filterset.as_of_date
        links = selectors.Links(request)
        if self.wants_csv():
            rows = selectors.iter_recommendation_rows(queryset, links, as_of)
            return csv_response(rows, selectors.RECOMMENDATION_COLUMNS, filename="recommendations.csv")
        listing = ItemListing(
            self.filterset, lambda items: selectors.recommendation_values(items, as_of, overdue=False)
        )
        page = self.paginator.paginate_queryset(listing, request, self)
        return self.get_paginated_response(selectors.recommendation_rows(page, links, as_of))


class RecommendationDetailView(TrackerAPIView):
    serializer_class = RecommendationUpdateSerializer  # what PATCH takes

    def detail_response(self, code: str, *, as_of=None) -> Response:
        try:
            if not _CODE.match(code):
                raise Recommendation.DoesNotExist
            item = recommendation_story(code)
        except Recommendation.DoesNotExist:
            raise NotFound(ERROR_NO_ITEM.format(code=code.replace("\x00", "")[:40])) from None
        response = Response(selectors.recommendation_detail(item, selectors.Links(self.request), as_of))
        response["ETag"] = etag_for(item.version)
        return response

    @extend_schema(
        operation_id="recommendations_retrieve",
        summary="Read one recommendation",
        description="With its evidence, related items across the documents, parent, children and status "
        "history. With `as_of`, `status` (with its label and definition) and `status_date` are those in effect "
        'on that date; the history is always whole. The `ETag` header is the item\'s version (`"3"`; read with '
        '`Accept-Language: fr` or `ja`, `"3-fr"` or `"3-ja"`, as labels and definitions are then in that '
        "language): send it back as `If-Match` when you write.",
        parameters=[schema.CODE_PARAMETER, schema.AS_OF_PARAMETER],
        responses={200: RecommendationDetailSerializer, **schema.errors(400, 401, 403, 404, 406, 429)},
    )
    def get(self, request, code: str):
        as_of, errors = parse_as_of(request.query_params.get("as_of"))
        if errors:
            raise ValidationError({"as_of": errors})
        return self.detail_response(code, as_of=as_of)

    @extend_schema(
        operation_id="recommendations_partial_update",
        summary="Change an item's other fields (analysts)",
        description="Title, editorial note, level, due date and its note, recurring schedule and its note, "
        "priority and its note, themes, owners, steward. Not the code, source, quoted text or status (status "
        "changes have their own endpoint). `If-Match` is required.",
        parameters=[schema.CODE_PARAMETER, schema.if_match_parameter(required=True)],
        request=RecommendationUpdateSerializer,
        responses={200: RecommendationDetailSerializer, **schema.errors(*schema.WRITE_ERRORS, 428)},
    )
    def patch(self, request, code: str):
        item = self.item_or_404(code)
        require_if_match(request)
        serializer = RecommendationUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            expected = expected_version(request, lock_for_write(item), required=True)
            recommendation_update(
                recommendation=item,
                data=dict(serializer.validated_data),
                expected_version=expected,
                edited_by=request.user,
            )
        return self.detail_response(code)


# --- an item's status log and evidence -------------------------------------


class StatusChangeListView(ListAPIView):
    serializer_class = StatusChangeInputSerializer  # what POST takes (also shown by OPTIONS)

    @extend_schema(
        operation_id="recommendations_status_changes_list",
        summary="An item's status history",
        description="Oldest first. " + schema.PAGE_SIZE_NOTE,
        parameters=[schema.CODE_PARAMETER, *schema.PAGE_PARAMETERS, schema.FORMAT_PARAMETER],
        responses={200: StatusChangeSerializer(many=True), **_CSV, **schema.errors(*schema.READ_ERRORS, 404)},
    )
    def get(self, request, code: str):
        item = self.item_or_404(code)
        changes = selectors.status_change_values(
            StatusChange.objects.filter(recommendation=item).order_by("effective_date", "recorded_at", "id")
        )
        links = selectors.Links(request)
        if self.wants_csv():
            rows = selectors.status_change_rows(changes.iterator(), links)
            return csv_response(rows, selectors.STATUS_CHANGE_COLUMNS, filename=f"{item.code}-status-changes.csv")
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(list(selectors.status_change_rows(page, links)))

    @extend_schema(
        operation_id="recommendations_status_changes_create",
        summary="Record a status change (analysts)",
        description="Goes through the tracker's one status-change service: the note is required, the effective "
        "date is today or earlier and not before the current status date. Evidence is optional: the id of "
        "evidence already recorded for the item, or `new_evidence` to record with the change. The response's "
        "`ETag` is the item's new version.",
        parameters=[schema.CODE_PARAMETER, schema.if_match_parameter(required=False)],
        request=StatusChangeInputSerializer,
        responses={201: StatusChangeSerializer, **schema.errors(*schema.WRITE_ERRORS)},
    )
    def post(self, request, code: str):
        item = self.item_or_404(code)
        serializer = StatusChangeInputSerializer(data=request.data, context={"recommendation": item})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            # If-Match is read under the row lock, which this transaction holds until the change is in;
            # the service checks the version it names.
            expected = expected_version(request, lock_for_write(item), required=False)
            change = recommendation_change_status(
                recommendation=item,
                status=data["status"],
                note=data["note"],
                effective_date=data["effective_date"],
                recorded_by=request.user,
                evidence=data["evidence"],
                new_evidence=data["new_evidence"],
                expected_version=expected,
            )
            # Read back before the commit: once committed, the answer must not depend on another query.
            row = next(
                selectors.status_change_rows(
                    selectors.status_change_values(StatusChange.objects.filter(pk=change.pk)), selectors.Links(request)
                )
            )
        return _created(row, item)


class EvidenceListView(ListAPIView):
    serializer_class = EvidenceInputSerializer  # what POST takes (also shown by OPTIONS)

    @extend_schema(
        operation_id="recommendations_evidence_list",
        summary="An item's evidence",
        description="Oldest first. " + schema.PAGE_SIZE_NOTE,
        parameters=[schema.CODE_PARAMETER, *schema.PAGE_PARAMETERS, schema.FORMAT_PARAMETER],
        responses={200: EvidenceSerializer(many=True), **_CSV, **schema.errors(*schema.READ_ERRORS, 404)},
    )
    def get(self, request, code: str):
        item = self.item_or_404(code)
        links = selectors.Links(request)
        evidence = selectors.evidence_queryset(item)
        if self.wants_csv():
            rows = (selectors.evidence_row(e, links) for e in evidence.iterator(chunk_size=1000))
            return csv_response(rows, selectors.EVIDENCE_COLUMNS, filename=f"{item.code}-evidence.csv")
        page = self.paginate_queryset(evidence)
        return self.get_paginated_response([selectors.evidence_row(e, links) for e in page])

    @extend_schema(
        operation_id="recommendations_evidence_create",
        summary="Add evidence to an item (analysts)",
        description="A web address (http or https) with a title, or a source document held in the tracker. "
        "Adding evidence bumps the item's version; the response's `ETag` is the new one.",
        parameters=[schema.CODE_PARAMETER, schema.if_match_parameter(required=False)],
        request=EvidenceInputSerializer,
        responses={201: EvidenceSerializer, **schema.errors(*schema.WRITE_ERRORS)},
    )
    def post(self, request, code: str):
        item = self.item_or_404(code)
        serializer = EvidenceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            expected = expected_version(request, lock_for_write(item), required=False)
            evidence = evidence_create(
                recommendation=item, added_by=request.user, expected_version=expected, **serializer.validated_data
            )
            row = selectors.evidence_row(evidence, selectors.Links(request))
        return _created(row, item)


class EvidenceRetractionView(TrackerAPIView):
    serializer_class = EvidenceRetractionInputSerializer  # what POST takes (also shown by OPTIONS)

    @extend_schema(
        operation_id="recommendations_evidence_retract",
        summary="Retract evidence (analysts)",
        description="Recorded evidence is never edited or deleted: a wrong link is retracted with a reason, and the "
        "right one added as new evidence. The evidence stays on record (and the status changes that cite it keep "
        "their record), marked as retracted with who, when and why. Retracting bumps the item's version; the "
        "response's `ETag` is the new one.",
        parameters=[schema.CODE_PARAMETER, schema.EVIDENCE_ID_PARAMETER, schema.if_match_parameter(required=False)],
        request=EvidenceRetractionInputSerializer,
        responses={201: EvidenceSerializer, **schema.errors(*schema.WRITE_ERRORS)},
    )
    def post(self, request, code: str, evidence_id: int):
        item = self.item_or_404(code)
        evidence = Evidence.objects.filter(recommendation=item, pk=evidence_id).first()
        if evidence is None:
            raise NotFound(ERROR_NO_EVIDENCE.format(id=evidence_id, code=item.code))
        evidence.recommendation = item  # so the service's new version shows on `item` for the ETag
        serializer = EvidenceRetractionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            expected = expected_version(request, lock_for_write(item), required=False)
            evidence_retract(
                evidence=evidence,
                reason=serializer.validated_data["reason"],
                retracted_by=request.user,
                expected_version=expected,
            )
            row = selectors.evidence_row(
                selectors.evidence_queryset(item).get(pk=evidence.pk), selectors.Links(request)
            )
        return _created(row, item)


def _created(data: dict, item: Recommendation) -> Response:
    response = Response(data, status=status.HTTP_201_CREATED)
    response["ETag"] = etag_for(item.version)
    return response


# --- the change feed -------------------------------------------------------


class ChangeFeedView(ListAPIView):
    filter_backends = [FilterBackend]
    filterset_class = StatusChangeFeedFilterSet
    queryset = StatusChange.objects.all()

    @extend_schema(
        operation_id="changes_list",
        summary="Every status change, oldest first",
        description="For scripts that sync: the status changes of all items (or, with `code`, of just those "
        "items) in the order they were recorded. " + schema.PAGE_SIZE_NOTE,
        parameters=[
            schema.SINCE_PARAMETER,
            schema.CODE_FILTER_PARAMETER,
            *schema.PAGE_PARAMETERS,
            schema.FORMAT_PARAMETER,
        ],
        responses={200: StatusChangeSerializer(many=True), **_CSV, **schema.errors(*schema.READ_ERRORS)},
    )
    def get(self, request):
        feed = self.filter_queryset(selectors.change_feed())
        changes = selectors.status_change_values(feed)
        links = selectors.Links(request)
        if self.wants_csv():
            rows = selectors.status_change_rows(changes.iterator(chunk_size=1000), links)
            return csv_response(rows, selectors.STATUS_CHANGE_COLUMNS, filename="changes.csv")
        wanted = self.filterset.form.cleaned_data
        if wanted.get("code"):
            page = self.paginator.paginate_queryset(changes, request, self, count_from=feed)
        else:
            # Every item's changes since a moment: counted by day, not change by change.
            since = wanted.get("since")
            page = self.paginator.paginate_queryset(changes, request, self, count=lambda: changes_since(since))
        return self.get_paginated_response(list(selectors.status_change_rows(page, links)))


# --- vocabularies ----------------------------------------------------------


class VocabularyView(TrackerAPIView):
    """A short list, not paginated: every row at once, as JSON or CSV."""

    renderer_classes = [JSONRenderer, CSVRenderer]
    serializer_class = ThemeSerializer  # documents the rows; the rows themselves are built by `rows`
    filename = ""

    def rows(self, links: selectors.Links) -> list[dict]:
        raise NotImplementedError

    def get(self, request):
        rows = self.rows(selectors.Links(request))
        if self.wants_csv():
            return csv_response(rows, list(self.serializer_class().fields), filename=self.filename)
        return Response(rows)


def _vocabulary_schema(serializer, summary: str, operation_id: str):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description="Every row at once (not paginated).",
        parameters=[schema.FORMAT_PARAMETER],
        responses={200: serializer(many=True), **_CSV, **schema.errors(401, 403, 406, 429)},
    )


class ThemeListView(VocabularyView):
    serializer_class = ThemeSerializer
    filename = "themes.csv"
    rows = staticmethod(selectors.theme_rows)

    @_vocabulary_schema(ThemeSerializer, "List themes", "themes_list")
    def get(self, request):
        return super().get(request)


class OwnerListView(VocabularyView):
    serializer_class = OwnerSerializer
    filename = "owners.csv"
    rows = staticmethod(selectors.owner_rows)

    @_vocabulary_schema(OwnerSerializer, "List owners (who must act)", "owners_list")
    def get(self, request):
        return super().get(request)


class SourceListView(VocabularyView):
    serializer_class = SourceSerializer
    filename = "sources.csv"
    rows = staticmethod(selectors.source_rows)

    @_vocabulary_schema(SourceSerializer, "List source documents", "sources_list")
    def get(self, request):
        return super().get(request)


class StatusListView(VocabularyView):
    serializer_class = StatusSerializer
    filename = "statuses.csv"
    rows = staticmethod(selectors.status_rows)

    @_vocabulary_schema(StatusSerializer, "List the status codes with their definitions", "statuses_list")
    def get(self, request):
        return super().get(request)
