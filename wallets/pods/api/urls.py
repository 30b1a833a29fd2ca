from django.urls import path

from . import views

P = "pods/<uuid:pod_id>"

urlpatterns = [
    path(P, views.PodDetailView.as_view(), name="pod"),
    path(f"{P}/members", views.MembersView.as_view(), name="pod-members"),
    path(f"{P}/members/<uuid:member_id>/accept", views.AcceptView.as_view(), name="pod-member-accept"),
    path(f"{P}/members/<uuid:member_id>/role", views.RoleView.as_view(), name="pod-member-role"),
    path(f"{P}/members/<uuid:member_id>/remove", views.RemoveView.as_view(), name="pod-member-remove"),
    path(f"{P}/policy", views.PolicyView.as_view(), name="pod-policy"),
    path(f"{P}/goals", views.GoalsView.as_view(), name="pod-goals"),
    path(f"{P}/goals/<uuid:goal_id>/refund", views.GoalRefundView.as_view(), name="pod-goal-refund"),
    path(f"{P}/pledges", views.PledgesView.as_view(), name="pod-pledges"),
    path(f"{P}/outflows", views.OutflowsView.as_view(), name="pod-outflows"),
    path(f"{P}/outflows/<uuid:outflow_id>/approve", views.ApproveView.as_view(), name="pod-outflow-approve"),
    path(f"{P}/outflows/<uuid:outflow_id>/reject", views.RejectView.as_view(), name="pod-outflow-reject"),
    path(f"{P}/contributions", views.ContributionsView.as_view(), name="pod-contributions"),
    path(f"{P}/dissolve", views.DissolveView.as_view(), name="pod-dissolve"),
]
