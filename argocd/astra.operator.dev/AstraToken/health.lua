-- ArgoCD health check for astra.operator.dev/AstraToken.
--
-- Install it in argocd-cm as `resource.customizations.health.astra.operator.dev_AstraToken`
-- (argocd/argocd-cm.yaml is that patch). ArgoCD runs custom checks without Lua's string, math
-- and os libraries, so this script uses only the base and table functions.
--
-- Order matters, first match wins:
--   1. no status yet                                  -> Progressing
--   2. paused (annotation astra.operator.dev/paused)  -> Suspended (nothing is reconciled)
--   3. Synced=False for this generation: WaitingForRole -> Progressing (a referenced AstraRole has no ID yet:
--      waiting for a dependency, not a failure); ReconcilePaused -> Suspended; any other
--      reason -> Degraded: the token cannot be issued or kept (missing token Secret, a Secret
--      of that name owned by someone else, a built-in role the organization lacks, API errors)
--   4. status.observedGeneration behind generation -> Progressing (not acted on yet)
--   5. Ready: True -> Healthy (the token is in its Secret); Unavailable -> Degraded; Creating
--      or anything else -> Progressing.

local hs = { status = "Progressing", message = "Waiting for the operator to report status" }

local function condition(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function say(status, message)
  hs.status = status
  hs.message = message or ""
  return hs
end

local function paused(meta)
  if meta == nil or meta.annotations == nil then
    return false
  end
  local value = meta.annotations["astra.operator.dev/paused"]
  return value == "true" or value == "True" or value == "TRUE"
end

local function check(o)
  local status = o.status
  if status == nil or status.conditions == nil then
    return hs
  end
  if paused(o.metadata) then
    return say("Suspended", "Reconciliation is paused (annotation astra.operator.dev/paused)")
  end
  local generation = o.metadata and o.metadata.generation
  local observed = status.observedGeneration
  local synced = condition(status.conditions, "Synced")
  -- A failure about the current generation shows even when the operator could not act on it
  -- (no usable credentials leave observedGeneration behind).
  local current = synced ~= nil and (generation == nil or synced.observedGeneration == nil
    or synced.observedGeneration == generation)
  if current and synced.status == "False" then
    if synced.reason == "WaitingForRole" then
      return say("Progressing", synced.message)
    end
    if synced.reason == "ReconcilePaused" then
      return say("Suspended", synced.message)
    end
    return say("Degraded", (synced.reason or "") .. ": " .. (synced.message or ""))
  end
  if generation ~= nil and (observed == nil or observed < generation) then
    return say("Progressing", "Waiting for the operator to act on generation " .. generation)
  end

  local ready = condition(status.conditions, "Ready")
  if ready == nil then
    return hs
  end
  if ready.status == "True" then
    return say("Healthy", ready.message)
  end
  if ready.status == "False" and ready.reason == "Unavailable" then
    return say("Degraded", "Unavailable: " .. (ready.message or ""))
  end
  return say("Progressing", ready.message)
end

return check(obj)
