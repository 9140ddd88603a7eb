import { createApp } from 'vue'
import App from './App.vue'
import HallScreen from './components/HallScreen.vue'
import './styles.css'

// The same page serves the desk's window and the hall screen's (opened as index.html#hall).
createApp(window.location.hash === '#hall' ? HallScreen : App).mount('#app')
