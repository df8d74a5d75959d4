"""Pages of attachments: the htmx panel, upload, delete and the scoped file views.

Uploaded files are never served from /media/; these views check the scope first. Ids are
at most 18 digits, so an absurd id is a 404 rather than an integer overflow in the database.
"""

from django.urls import re_path

from frontline.core.views import attachments

OWNER = r"^attachments/(?P<app_label>[a-z_]+)\.(?P<model_name>[a-z_]+)/(?P<owner_id>[0-9]{1,18})/"
ATTACHMENT = r"^attachments/(?P<pk>[0-9]{1,18})/"

urlpatterns = [
    re_path(OWNER + "$", attachments.attachment_panel, name="attachment_panel"),
    re_path(OWNER + "upload/$", attachments.attachment_upload, name="attachment_upload"),
    re_path(ATTACHMENT + "file/$", attachments.attachment_file, name="attachment_file"),
    re_path(
        ATTACHMENT + "thumbnail/$", attachments.attachment_thumbnail, name="attachment_thumbnail"
    ),
    re_path(ATTACHMENT + "delete/$", attachments.attachment_delete, name="attachment_delete"),
]
