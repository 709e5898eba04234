"""The example's views: a greeting, a failure with secrets, a flaky and a slow upstream, and a
small DRF API whose validation errors come back as problems with an ``errors`` member."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import seawall
from examples import shared

log = logging.getLogger("shop")
ITEMS = {1: {"id": 1, "name": "anchor", "quantity": 3}}


def hello(request: HttpRequest) -> JsonResponse:
    log.info("hello handled")
    return JsonResponse({"message": "hello", "correlation_id": seawall.get_correlation_id()})


async def async_hello(request: HttpRequest) -> JsonResponse:
    log.info("async hello handled")
    return JsonResponse({"message": "hello", "correlation_id": seawall.get_correlation_id()})


def boom(request: HttpRequest) -> JsonResponse:
    password = "Sup3r-" + "s3cret!"
    api_key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    raise RuntimeError(
        f"cannot reach postgres://shop:{password}@db.internal:5432/orders "
        f"(api_key={api_key}) for jane.doe@example.com"
    )


def flaky(request: HttpRequest) -> JsonResponse:
    if request.GET.get("fail") == "1":
        raise ConnectionError("upstream inventory service refused the connection")
    return JsonResponse({"inventory": "ok"})


def stream(request: HttpRequest) -> StreamingHttpResponse:
    """A body from a plain generator: each chunk logs, with the request's id."""

    def chunks() -> Iterator[bytes]:
        for index in range(3):
            log.info("chunk streamed", extra={"chunk": index})
            yield f"{seawall.get_correlation_id()}\n".encode()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def stock(request: HttpRequest) -> JsonResponse:
    return JsonResponse(shared.stock())


def slow(request: HttpRequest) -> JsonResponse:
    time.sleep(float(request.GET.get("seconds", "2")))
    return JsonResponse({"done": True})


class ItemSerializer(serializers.Serializer[dict[str, Any]]):
    name = serializers.CharField(max_length=40)
    quantity = serializers.IntegerField(min_value=1)


class ItemList(APIView):
    def post(self, request: Request) -> Response:
        serializer = ItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = {"id": len(ITEMS) + 1, **serializer.validated_data}
        return Response(item, status=201)


class ItemDetail(APIView):
    def get(self, request: Request, pk: int) -> Response:
        if pk not in ITEMS:
            raise NotFound(f"There is no item {pk}.")
        return Response(ITEMS[pk])
