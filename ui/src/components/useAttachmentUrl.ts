// A blob: URL for an attachment's bytes, made on demand and revoked when it changes or the
// component unmounts (images are never inlined as data: URLs or HTML).
import { onBeforeUnmount, ref, watch, type Ref } from 'vue'
import type { Attachment, DeskError } from '../api/contract'
import { attachmentBytes } from '../api/desk'
import { errorText } from '../logic/format'

export function useAttachmentUrl(attachment: Ref<Attachment | null | undefined>) {
  const url = ref<string | null>(null)
  const error = ref('')
  const loading = ref(false)
  let seq = 0

  function revoke() {
    if (url.value) URL.revokeObjectURL(url.value)
    url.value = null
  }

  async function load(a: Attachment | null | undefined) {
    const my = ++seq
    revoke()
    error.value = ''
    if (!a) return
    loading.value = true
    try {
      const bytes = await attachmentBytes(a.hash)
      if (my !== seq) return
      url.value = URL.createObjectURL(new Blob([bytes], { type: a.mime }))
    } catch (e) {
      if (my === seq) error.value = errorText(e as DeskError)
    } finally {
      if (my === seq) loading.value = false
    }
  }

  watch(
    () => attachment.value?.hash,
    () => void load(attachment.value),
    { immediate: true },
  )
  onBeforeUnmount(() => {
    seq++ // a load still under way must not create a URL nobody revokes
    revoke()
  })

  return { url, error, loading }
}
