"""`xroad init`: a new country's instance (central server, trust services, anchor) in one go.

`plan.plan_instance` checks the options (pure); `create.create_instance` writes the instance
(imported on use: it pulls in the database and token code).
"""

from xroad.newinstance.plan import CertFile, InitOptions, InitRefused, InstancePlan, plan_instance

__all__ = ["CertFile", "InitOptions", "InitRefused", "InstancePlan", "plan_instance"]
