"""The API's filter backend: the shared FilterSets, with their errors as a 400 naming each parameter."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, reporting every invalid parameter as `{parameter: [messages]}`.

    The messages are taken as rendered by the form (as the reviewer pages show
    them), so nothing in a caller's value is ever re-read as a format directive.
    """

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise ValidationError({name: list(messages) for name, messages in filterset.errors.items()})
        # The view reads what the FilterSet cleaned (such as the `as_of` date) from here.
        view.filterset = filterset
        return filterset.qs
