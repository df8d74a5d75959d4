"""Pages of supervised tasks (督办任务), included by `frontline.urls`.

Ids are at most 18 digits, so an absurd id is a 404 rather than an integer overflow in the
database driver.
"""

from django.urls import path, re_path

from frontline.core.views import tasks

TASK = r"^tasks/(?P<pk>[0-9]{1,18})/"

urlpatterns = [
    path("tasks/", tasks.task_mine, name="task_mine"),
    path("tasks/supervised/", tasks.task_supervised, name="task_supervised"),
    path("tasks/new/", tasks.task_create, name="task_create"),
    re_path(TASK + "$", tasks.task_detail, name="task_detail"),
    re_path(TASK + r"(?P<action>[a-z-]{1,20})/$", tasks.task_action, name="task_action"),
]
