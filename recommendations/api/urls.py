"""REST API URLs."""

app_name = "api"

urlpatterns: list = []
