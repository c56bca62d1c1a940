"""Command names and descriptions in the languages Discord users most often run it in.

discord.py hands every command, option and choice string to the tree's :class:`app_commands.Translator` when
the schema is synced; what it returns becomes ``name_localizations`` / ``description_localizations``. Only
the command *schema* is translated: answers stay English for now (the knowledge base is written in English).

Rules Discord enforces on slash-command and option names (checked for every entry by the tests): lower case
where the script has case, 1-32 characters, letters, digits, ``-`` and ``_`` only. Context-menu names may hold
spaces and capitals. Descriptions and choice names are at most 100 characters.

Tone follows Discord's own clients: ``du`` in German, ``tu`` in French, ``tú`` in Spanish, ``você`` in
Brazilian Portuguese, ``вы`` in Russian, ``ty`` in Polish. The ``check <host> <port>`` keyword stays English:
the parser only knows English words.
"""

from __future__ import annotations

from discord import Locale, app_commands

DE, FR, ES, ES_LATAM, PT_BR, RU, PL = (
    Locale.german,
    Locale.french,
    Locale.spain_spanish,
    Locale.latin_american_spanish,
    Locale.brazil_portuguese,
    Locale.russian,
    Locale.polish,
)

#: English text → its translation per locale. Latin American Spanish reuses the neutral Spanish below.
TRANSLATIONS: dict[str, dict[Locale, str]] = {
    # -- command, option and subcommand names ------------------------------------------------------------
    "port": {DE: "port", FR: "port", ES: "puerto", PT_BR: "porta", RU: "порт", PL: "port"},
    "portcheck": {
        DE: "portprüfung",
        FR: "vérifier-port",
        ES: "comprobar-puerto",
        PT_BR: "verificar-porta",
        RU: "проверить-порт",
        PL: "sprawdź-port",
    },
    "help": {DE: "hilfe", FR: "aide", ES: "ayuda", PT_BR: "ajuda", RU: "помощь", PL: "pomoc"},
    "myserver": {
        DE: "mein-server",
        FR: "mon-serveur",
        ES: "mi-servidor",
        PT_BR: "meu-servidor",
        RU: "мой-сервер",
        PL: "mój-serwer",
    },
    # The product's name stays as it is everywhere.
    "portbot": {DE: "portbot", FR: "portbot", ES: "portbot", PT_BR: "portbot", RU: "portbot", PL: "portbot"},
    "settings": {
        DE: "einstellungen",
        FR: "paramètres",
        ES: "ajustes",
        PT_BR: "configurações",
        RU: "настройки",
        PL: "ustawienia",
    },
    "server": {DE: "server", FR: "serveur", ES: "servidor", PT_BR: "servidor", RU: "сервер", PL: "serwer"},
    "query": {DE: "anfrage", FR: "requête", ES: "consulta", PT_BR: "consulta", RU: "запрос", PL: "zapytanie"},
    "host": {DE: "host", FR: "hôte", ES: "host", PT_BR: "host", RU: "хост", PL: "host"},
    "protocol": {
        DE: "protokoll",
        FR: "protocole",
        ES: "protocolo",
        PT_BR: "protocolo",
        RU: "протокол",
        PL: "protokół",
    },
    "remember": {
        DE: "merken",
        FR: "mémoriser",
        ES: "recordar",
        PT_BR: "lembrar",
        RU: "запомнить",
        PL: "zapamiętaj",
    },
    "forget": {
        DE: "vergessen",
        FR: "oublier",
        ES: "olvidar",
        PT_BR: "esquecer",
        RU: "забыть",
        PL: "zapomnij",
    },
    "probe_results": {
        DE: "prüfergebnisse",
        FR: "vérifications",
        ES: "comprobaciones",
        PT_BR: "verificações",
        RU: "проверки",
        PL: "sprawdzenia",
    },
    "knowledge_answers": {
        DE: "antworten",
        FR: "réponses",
        ES: "respuestas",
        PT_BR: "respostas",
        RU: "ответы",
        PL: "odpowiedzi",
    },
    "watch": {
        DE: "überwachen",
        FR: "surveiller",
        ES: "vigilar",
        PT_BR: "monitorar",
        RU: "мониторинг",
        PL: "monitoruj",
    },
    "add": {DE: "hinzufügen", FR: "ajouter", ES: "añadir", PT_BR: "adicionar", RU: "добавить", PL: "dodaj"},
    "list": {DE: "liste", FR: "liste", ES: "lista", PT_BR: "lista", RU: "список", PL: "lista"},
    "remove": {DE: "entfernen", FR: "retirer", ES: "quitar", PT_BR: "remover", RU: "удалить", PL: "usuń"},
    "every": {
        DE: "intervall",
        FR: "intervalle",
        ES: "intervalo",
        PT_BR: "intervalo",
        RU: "интервал",
        PL: "interwał",
    },
    "game": {DE: "spiel", FR: "jeu", ES: "juego", PT_BR: "jogo", RU: "игра", PL: "gra"},
    "label": {DE: "name", FR: "nom", ES: "nombre", PT_BR: "nome", RU: "название", PL: "nazwa"},
    # -- the message context menu (a display name: spaces and capitals allowed) ----------------------------
    "Check this server": {
        DE: "Diesen Server prüfen",
        FR: "Vérifier ce serveur",
        ES: "Comprobar este servidor",
        PT_BR: "Verificar este servidor",
        RU: "Проверить этот сервер",
        PL: "Sprawdź ten serwer",
    },
    # -- descriptions ---------------------------------------------------------------------------------------
    "Ask about a port, a game or app, or check a port": {
        DE: "Frag nach einem Port, einem Spiel oder einer App – oder prüfe einen Port",
        FR: "Poser une question sur un port, un jeu ou une appli, ou vérifier un port",
        ES: "Preguntar por un puerto, un juego o una app, o comprobar un puerto",
        PT_BR: "Pergunte sobre uma porta, um jogo ou app, ou verifique uma porta",
        RU: "Узнать о порте, игре или приложении либо проверить порт",
        PL: "Zapytaj o port, grę lub aplikację albo sprawdź port",
    },
    "A port (25565), a game or app (minecraft), a question, or check <host> <port>": {
        DE: "Ein Port (25565), ein Spiel oder eine App (minecraft), eine Frage oder check <host> <port>",
        FR: "Un port (25565), un jeu ou une appli (minecraft), une question, ou check <hôte> <port>",
        ES: "Un puerto (25565), un juego o app (minecraft), una pregunta o check <host> <puerto>",
        PT_BR: "Uma porta (25565), um jogo ou app (minecraft), uma pergunta ou check <host> <porta>",
        RU: "Порт (25565), игра или приложение (minecraft), вопрос или check <хост> <порт>",
        PL: "Port (25565), gra lub aplikacja (minecraft), pytanie albo check <host> <port>",
    },
    "Check whether a port is reachable from the internet": {
        DE: "Prüfe, ob ein Port aus dem Internet erreichbar ist",
        FR: "Vérifier si un port est joignable depuis Internet",
        ES: "Comprobar si un puerto es accesible desde internet",
        PT_BR: "Verifique se uma porta está acessível pela internet",
        RU: "Проверить, доступен ли порт из интернета",
        PL: "Sprawdź, czy port jest osiągalny z internetu",
    },
    "Your server's public host name or IP address": {
        DE: "Öffentlicher Hostname oder öffentliche IP-Adresse deines Servers",
        FR: "Nom d'hôte ou adresse IP publique de ton serveur",
        ES: "Nombre de host o dirección IP pública de tu servidor",
        PT_BR: "Nome de host ou endereço IP público do seu servidor",
        RU: "Публичное имя хоста или IP-адрес вашего сервера",
        PL: "Publiczna nazwa hosta lub adres IP twojego serwera",
    },
    "The port number, 1 to 65535": {
        DE: "Die Portnummer, 1 bis 65535",
        FR: "Le numéro de port, de 1 à 65535",
        ES: "El número de puerto, de 1 a 65535",
        PT_BR: "O número da porta, de 1 a 65535",
        RU: "Номер порта, от 1 до 65535",
        PL: "Numer portu, od 1 do 65535",
    },
    "TCP or UDP; automatic picks the usual one for the port": {
        DE: "TCP oder UDP; automatisch nimmt das übliche Protokoll des Ports",
        FR: "TCP ou UDP ; automatique choisit le protocole habituel du port",
        ES: "TCP o UDP; automático elige el protocolo habitual del puerto",
        PT_BR: "TCP ou UDP; automático escolhe o protocolo usual da porta",
        RU: "TCP или UDP; «Автоматически» выбирает обычный протокол порта",
        PL: "TCP lub UDP; automatycznie wybiera protokół typowy dla portu",
    },
    "Automatic (the port's usual protocol)": {
        DE: "Automatisch (das übliche Protokoll des Ports)",
        FR: "Automatique (le protocole habituel du port)",
        ES: "Automático (el protocolo habitual del puerto)",
        PT_BR: "Automático (o protocolo usual da porta)",
        RU: "Автоматически (обычный протокол порта)",
        PL: "Automatycznie (typowy protokół portu)",
    },
    "Save this host as your server, to fill in the Check form next time (only you see it)": {
        DE: "Diesen Host als deinen Server merken, fürs nächste Prüfformular (nur du siehst ihn)",
        FR: "Enregistrer cet hôte comme ton serveur pour le prochain formulaire (visible par toi seul)",
        ES: "Guardar este host como tu servidor para el próximo formulario (solo lo ves tú)",
        PT_BR: "Salvar este host como seu servidor para o próximo formulário (só você vê)",
        RU: "Сохранить этот хост как ваш сервер для следующей проверки (видите только вы)",
        PL: "Zapisz ten host jako swój serwer do następnego formularza (widzisz go tylko ty)",
    },
    "Portbot's settings and watches for this server": {
        DE: "Portbot-Einstellungen und Überwachungen für diesen Server",
        FR: "Paramètres et surveillances de Portbot pour ce serveur",
        ES: "Ajustes y vigilancias de Portbot para este servidor",
        PT_BR: "Configurações e monitoramentos do Portbot para este servidor",
        RU: "Настройки и мониторинг Portbot для этого сервера",
        PL: "Ustawienia i monitorowanie Portbota na tym serwerze",
    },
    "Watch a server and show its status here": {
        DE: "Einen Server überwachen und seinen Status hier zeigen",
        FR: "Surveiller un serveur et afficher son état ici",
        ES: "Vigilar un servidor y mostrar su estado aquí",
        PT_BR: "Monitorar um servidor e mostrar o status dele aqui",
        RU: "Следить за сервером и показывать его статус здесь",
        PL: "Monitoruj serwer i pokazuj tutaj jego stan",
    },
    "Watch a server: a status message here, and an alert when it changes": {
        DE: "Einen Server überwachen: eine Statusnachricht hier und eine Meldung, wenn er sich ändert",
        FR: "Surveiller un serveur : un message d'état ici et une alerte quand il change",
        ES: "Vigilar un servidor: un mensaje de estado aquí y un aviso cuando cambie",
        PT_BR: "Monitorar um servidor: uma mensagem de status aqui e um alerta quando mudar",
        RU: "Следить за сервером: сообщение о статусе здесь и оповещение при изменении",
        PL: "Monitoruj serwer: wiadomość o stanie tutaj i alert, gdy się zmieni",
    },
    "The server's public host name or IP address": {
        DE: "Öffentlicher Hostname oder öffentliche IP-Adresse des Servers",
        FR: "Nom d'hôte public ou adresse IP du serveur",
        ES: "Nombre de host público o dirección IP del servidor",
        PT_BR: "Nome de host público ou endereço IP do servidor",
        RU: "Публичное имя хоста или IP-адрес сервера",
        PL: "Publiczna nazwa hosta lub adres IP serwera",
    },
    "TCP (the default) or UDP": {
        DE: "TCP (Standard) oder UDP",
        FR: "TCP (par défaut) ou UDP",
        ES: "TCP (predeterminado) o UDP",
        PT_BR: "TCP (padrão) ou UDP",
        RU: "TCP (по умолчанию) или UDP",
        PL: "TCP (domyślnie) lub UDP",
    },
    "Seconds between checks; the shortest allowed when left out": {
        DE: "Sekunden zwischen den Prüfungen; ohne Angabe der kürzeste erlaubte Abstand",
        FR: "Secondes entre deux vérifications ; le plus court permis si vide",
        ES: "Segundos entre comprobaciones; el mínimo permitido si lo dejas vacío",
        PT_BR: "Segundos entre verificações; o menor permitido se ficar vazio",
        RU: "Секунд между проверками; если не указано, минимально допустимое",
        PL: "Sekundy między sprawdzeniami; jeśli puste, najkrótszy dozwolony odstęp",
    },
    "A name for the status message instead of the masked address, e.g. Survival server": {
        DE: "Ein Name für die Statusnachricht statt der maskierten Adresse, z. B. Survival-Server",
        FR: "Un nom pour le message d'état au lieu de l'adresse masquée, p. ex. Serveur survie",
        ES: "Un nombre para el mensaje de estado en lugar de la dirección oculta, p. ej. Servidor survival",
        PT_BR: "Um nome para a mensagem de status em vez do endereço mascarado, ex.: Servidor survival",
        RU: "Название для сообщения о статусе вместо скрытого адреса, напр. Сервер выживания",
        PL: "Nazwa w wiadomości o stanie zamiast ukrytego adresu, np. Serwer survival",
    },
    "The game it runs, to show players (minecraft, valheim, …)": {
        DE: "Das Spiel darauf, um die Spieler zu zeigen (minecraft, valheim, …)",
        FR: "Le jeu qu'il fait tourner, pour afficher les joueurs (minecraft, valheim, …)",
        ES: "El juego que ejecuta, para mostrar los jugadores (minecraft, valheim, …)",
        PT_BR: "O jogo que ele roda, para mostrar os jogadores (minecraft, valheim, …)",
        RU: "Игра на сервере, чтобы показывать игроков (minecraft, valheim, …)",
        PL: "Gra na serwerze, by pokazywać graczy (minecraft, valheim, …)",
    },
    "The servers watched here": {
        DE: "Die hier überwachten Server",
        FR: "Les serveurs surveillés ici",
        ES: "Los servidores vigilados aquí",
        PT_BR: "Os servidores monitorados aqui",
        RU: "Серверы, за которыми здесь следят",
        PL: "Serwery monitorowane tutaj",
    },
    "Stop watching a server": {
        DE: "Einen Server nicht mehr überwachen",
        FR: "Arrêter de surveiller un serveur",
        ES: "Dejar de vigilar un servidor",
        PT_BR: "Parar de monitorar um servidor",
        RU: "Перестать следить за сервером",
        PL: "Przestań monitorować serwer",
    },
    "The watch's number, from the list": {
        DE: "Die Nummer der Überwachung aus der Liste",
        FR: "Le numéro de la surveillance, dans la liste",
        ES: "El número de la vigilancia, de la lista",
        PT_BR: "O número do monitoramento, da lista",
        RU: "Номер из списка",
        PL: "Numer monitorowania z listy",
    },
    "Portbot's settings for this server": {
        DE: "Portbot-Einstellungen für diesen Server",
        FR: "Paramètres de Portbot pour ce serveur",
        ES: "Ajustes de Portbot para este servidor",
        PT_BR: "Configurações do Portbot para este servidor",
        RU: "Настройки Portbot для этого сервера",
        PL: "Ustawienia Portbota na tym serwerze",
    },
    "Show or change who sees Portbot's answers in this server": {
        DE: "Zeigen oder ändern, wer Portbots Antworten auf diesem Server sieht",
        FR: "Voir ou changer qui voit les réponses de Portbot sur ce serveur",
        ES: "Ver o cambiar quién ve las respuestas de Portbot en este servidor",
        PT_BR: "Ver ou mudar quem vê as respostas do Portbot neste servidor",
        RU: "Показать или изменить, кто видит ответы Portbot на этом сервере",
        PL: "Pokaż lub zmień, kto widzi odpowiedzi Portbota na tym serwerze",
    },
    "Reachability checks are always private (they show a member's address)": {
        DE: "Erreichbarkeitsprüfungen sind immer privat (sie zeigen die Adresse eines Mitglieds)",
        FR: "Les vérifications restent toujours privées (elles montrent l'adresse d'un membre)",
        ES: "Las comprobaciones son siempre privadas (muestran la dirección de un miembro)",
        PT_BR: "As verificações são sempre privadas (mostram o endereço de um membro)",
        RU: "Проверки доступности всегда приватны (в них виден адрес участника)",
        PL: "Sprawdzenia dostępności są zawsze prywatne (pokazują adres członka)",
    },
    "Who sees answers about ports, games and apps": {
        DE: "Wer Antworten zu Ports, Spielen und Apps sieht",
        FR: "Qui voit les réponses sur les ports, jeux et applis",
        ES: "Quién ve las respuestas sobre puertos, juegos y apps",
        PT_BR: "Quem vê as respostas sobre portas, jogos e apps",
        RU: "Кто видит ответы о портах, играх и приложениях",
        PL: "Kto widzi odpowiedzi o portach, grach i aplikacjach",
    },
    "Only the person who asked": {
        DE: "Nur die Person, die gefragt hat",
        FR: "Seulement la personne qui a demandé",
        ES: "Solo quien preguntó",
        PT_BR: "Só quem perguntou",
        RU: "Только тот, кто спросил",
        PL: "Tylko osoba, która pytała",
    },
    "Everyone in the channel": {
        DE: "Alle im Kanal",
        FR: "Tout le monde dans le salon",
        ES: "Todos en el canal",
        PT_BR: "Todos no canal",
        RU: "Все в канале",
        PL: "Wszyscy na kanale",
    },
    "Show or set the server the Check form suggests to members here": {
        DE: "Den Server zeigen oder festlegen, den das Prüfformular Mitgliedern hier vorschlägt",
        FR: "Voir ou définir l'adresse que le formulaire de vérification propose aux membres",
        ES: "Ver o fijar la dirección que el formulario sugiere a los miembros",
        PT_BR: "Ver ou definir o servidor que o formulário sugere aos membros daqui",
        RU: "Показать или задать сервер, который форма проверки предлагает участникам",
        PL: "Pokaż lub ustaw serwer podpowiadany członkom w formularzu sprawdzania",
    },
    "The host members here usually check, e.g. your community's game server": {
        DE: "Der Host, den Mitglieder hier meist prüfen, z. B. euer Community-Spielserver",
        FR: "L'hôte que les membres vérifient le plus, p. ex. le serveur de jeu de la communauté",
        ES: "El host que los miembros suelen comprobar, p. ej. el servidor de juego de la comunidad",
        PT_BR: "O host que os membros costumam verificar, ex.: o servidor de jogo da comunidade",
        RU: "Хост, который здесь обычно проверяют, например игровой сервер сообщества",
        PL: "Host, który członkowie zwykle sprawdzają, np. serwer gry społeczności",
    },
    "Remove this server's default": {
        DE: "Die Standardadresse dieses Servers entfernen",
        FR: "Supprimer l'adresse par défaut de ce serveur",
        ES: "Quitar la dirección predeterminada de este servidor",
        PT_BR: "Remover o endereço padrão deste servidor",
        RU: "Убрать адрес по умолчанию для этого сервера",
        PL: "Usuń domyślny adres tego serwera",
    },
    "What Portbot can do, with examples": {
        DE: "Was Portbot kann, mit Beispielen",
        FR: "Ce que Portbot sait faire, avec des exemples",
        ES: "Qué puede hacer Portbot, con ejemplos",
        PT_BR: "O que o Portbot faz, com exemplos",
        RU: "Что умеет Portbot, с примерами",
        PL: "Co potrafi Portbot, z przykładami",
    },
    "Show, save or forget your server (only you see it)": {
        DE: "Deinen Server zeigen, speichern oder vergessen (nur du siehst ihn)",
        FR: "Voir, enregistrer ou oublier ton serveur (visible par toi seul)",
        ES: "Ver, guardar u olvidar tu servidor (solo lo ves tú)",
        PT_BR: "Ver, salvar ou esquecer seu servidor (só você vê)",
        RU: "Показать, сохранить или забыть ваш сервер (видите только вы)",
        PL: "Pokaż, zapisz lub zapomnij swój serwer (widzisz go tylko ty)",
    },
    "Your server's public host name or IP address, to fill in the Check form": {
        DE: "Öffentlicher Hostname oder IP-Adresse deines Servers, fürs Prüfformular",
        FR: "Nom d'hôte ou adresse IP publique de ton serveur, pour le formulaire",
        ES: "Nombre de host o IP pública de tu servidor, para el formulario",
        PT_BR: "Nome de host ou IP público do seu servidor, para o formulário",
        RU: "Публичное имя хоста или IP-адрес вашего сервера для формы проверки",
        PL: "Publiczna nazwa hosta lub adres IP twojego serwera do formularza",
    },
    "Forget the server I saved for you": {
        DE: "Den für dich gespeicherten Server vergessen",
        FR: "Oublier le serveur enregistré pour toi",
        ES: "Olvidar el servidor guardado para ti",
        PT_BR: "Esquecer o servidor salvo para você",
        RU: "Забыть сохранённый для вас сервер",
        PL: "Zapomnij serwer zapisany dla ciebie",
    },
}

#: Locales every command name and description is translated into.
LOCALES = (DE, FR, ES, ES_LATAM, PT_BR, RU, PL)
_SAME_AS = {ES_LATAM: ES}


class PortbotTranslator(app_commands.Translator):
    """Looks strings up in :data:`TRANSLATIONS`; anything else keeps its English text."""

    async def translate(
        self, string: app_commands.locale_str, locale: Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        return translate(string.message, locale)


def translate(message: str, locale: Locale) -> str | None:
    """``message`` in ``locale``, or None (Discord then shows the English)."""
    return TRANSLATIONS.get(message, {}).get(_SAME_AS.get(locale, locale))
