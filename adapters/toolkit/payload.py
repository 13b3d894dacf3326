"""One record, two wire forms: a pydantic model as REST JSON and as a SOAP element.

A registry describes an answer once, as a pydantic model whose field order is the XSD
sequence; REST returns the model (FastAPI writes the OpenAPI schema from it) and SOAP writes
it with `append_model`, so the two protocols never disagree on what a client was told. Only
fields that were set and are not None are written: data minimisation leaves a withheld field
unset, and it is then absent from the JSON (`response_model_exclude_unset`) and the XML alike.
"""

from datetime import date
from enum import Enum

from lxml import etree
from pydantic import BaseModel


def xml_name(field: str) -> str:
    """`property_tax_due_mnt` -> `propertyTaxDueMnt`: JSON names are snake_case, XML camelCase."""
    first, *rest = field.split("_")
    return first + "".join(part.capitalize() for part in rest)


def xml_text(value: object) -> str:
    """A scalar as XML Schema writes it (`true`, `2025-01-01`, an enum's wire value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _append_value(parent: etree._Element, namespace: str, name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, BaseModel):
        append_model(parent, namespace, name, value)
    elif isinstance(value, list):  # `relatives` repeats `<relative>`
        for item in value:
            _append_value(parent, namespace, name.removesuffix("s"), item)
    else:
        etree.SubElement(parent, etree.QName(namespace, xml_name(name))).text = xml_text(value)


def append_model(
    parent: etree._Element, namespace: str, name: str, record: BaseModel
) -> etree._Element:
    """Add `<{name}>` holding the record's set, non-None fields in declaration order.

    Nested models become nested elements; a list field named in the plural repeats an element
    named in the singular.
    """
    element = etree.SubElement(parent, etree.QName(namespace, xml_name(name)))
    for field in type(record).model_fields:
        if field in record.model_fields_set:
            _append_value(element, namespace, field, getattr(record, field))
    return element
